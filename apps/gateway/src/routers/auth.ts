import {
  AuthenticateResult,
  Permission,
  Role,
  UserId,
  UserPermissions,
  VerifyUserResult,
  contracts,
} from "@desk/contracts";
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { RetryAfter } from "../rate-limit.js";
import { t } from "../trpc.js";
import type { RouterDeps } from "./deps.js";

const LoginInput = z.object({
  username: contracts.auth_service.authenticate.args.def.items[0],
  password: contracts.auth_service.authenticate.args.def.items[1],
});

const LoginResult = z.object({
  token: z.string().describe("JWT to send as Authorization: Bearer <token> (or ws connectionParams.token)"),
  tokenType: z.literal("Bearer"),
  expiresAt: z.string().describe("ISO-8601 expiry of the token"),
  user: AuthenticateResult.shape.user,
  permissions: z.array(Permission),
});

const Me = z.object({
  userId: UserId,
  username: z.string(),
  role: Role,
  permissions: z.array(Permission),
  accounts: z.array(z.string()),
  allAccounts: z.boolean(),
  tokenExpiresAt: z.string(),
});

export function authRouter(d: RouterDeps) {
  const { publicProcedure, authedProcedure } = d.procedures;
  const authenticate = (username: string, password: string) =>
    d.rpc.call("auth_service", "authenticate", [username, password], { userId: `anonymous:${username}` });
  return t.router({
    login: publicProcedure
      .meta({ openapi: { method: "POST", path: "/auth/login", tags: ["auth"], summary: "Log in; returns a JWT" } })
      .input(LoginInput)
      .output(LoginResult)
      .mutation(async ({ ctx, input }) => {
        // Per (username, address), on top of the per-address bucket: password guessing
        // against one account gets a handful of tries a minute, whatever else the address does.
        const limitKey = `${input.username.trim().toLowerCase()}\u0000${ctx.clientIp}`;
        const wait = d.loginLimiter.blockedForSeconds(limitKey);
        if (wait > 0) {
          d.metrics.rateLimited.inc({ scope: "login" });
          const message = `Too many failed logins for this user from this address; retry in ${wait} s`;
          throw new TRPCError({ code: "TOO_MANY_REQUESTS", message, cause: new RetryAfter(message, wait) });
        }
        let result: Awaited<ReturnType<typeof authenticate>>;
        try {
          result = await authenticate(input.username, input.password);
          if (!result.user.active) throw new TRPCError({ code: "UNAUTHORIZED", message: "User is disabled" });
        } catch (err) {
          if (err instanceof TRPCError && err.code === "UNAUTHORIZED") d.loginLimiter.recordFailure(limitKey);
          throw err;
        }
        d.loginLimiter.reset(limitKey);
        const { token, expiresAt } = await d.jwt.sign({
          userId: result.user.id,
          username: result.user.username,
          role: result.user.role,
        });
        d.permissions.invalidate(result.user.id);
        return {
          token,
          tokenType: "Bearer" as const,
          expiresAt: expiresAt.toISOString(),
          user: result.user,
          permissions: result.permissions,
        };
      }),

    me: authedProcedure
      .meta({
        openapi: {
          method: "GET",
          path: "/auth/me",
          tags: ["auth"],
          protect: true,
          summary: "Who the token belongs to",
        },
      })
      .input(z.void())
      .output(Me)
      .query(({ ctx }) => ({
        userId: ctx.user.userId,
        username: ctx.user.username,
        role: ctx.user.role,
        permissions: ctx.user.permissions,
        accounts: ctx.user.accounts,
        allAccounts: ctx.user.allAccounts,
        tokenExpiresAt: new Date(ctx.user.tokenExp * 1000).toISOString(),
      })),

    verifyUser: authedProcedure
      .meta({ openapi: { method: "GET", path: "/auth/users/{userId}/verify", tags: ["auth"], protect: true } })
      .input(z.object({ userId: UserId }))
      .output(VerifyUserResult)
      .query(({ ctx, input }) => {
        requireSelfOrAdmin(ctx.user, input.userId);
        return d.rpc.call("auth_service", "verify_user", [input.userId], { userId: ctx.user.userId });
      }),

    permissions: authedProcedure
      .meta({ openapi: { method: "GET", path: "/auth/permissions", tags: ["auth"], protect: true } })
      .input(z.object({ userId: UserId.optional() }))
      .output(UserPermissions)
      .query(({ ctx, input }) => {
        const userId = input.userId ?? ctx.user.userId;
        requireSelfOrAdmin(ctx.user, userId);
        return d.rpc.call("auth_service", "get_user_permissions", [userId], { userId: ctx.user.userId });
      }),

    changePassword: authedProcedure
      .meta({ openapi: { method: "POST", path: "/auth/change-password", tags: ["auth"], protect: true } })
      .input(
        z.object({
          oldPassword: contracts.auth_service.change_password.args.def.items[1],
          newPassword: contracts.auth_service.change_password.args.def.items[2],
        }),
      )
      .output(contracts.auth_service.change_password.result)
      .mutation(({ ctx, input }) =>
        // Always the caller's own password: the user id comes from the token, never from input.
        d.rpc.call("auth_service", "change_password", [ctx.user.userId, input.oldPassword, input.newPassword], {
          userId: ctx.user.userId,
        }),
      ),
  });
}

function requireSelfOrAdmin(user: { userId: string; permissions: readonly string[] }, userId: string): void {
  if (user.userId !== userId && !user.permissions.includes("admin")) {
    throw new TRPCError({ code: "FORBIDDEN", message: "Only an admin may look up another user" });
  }
}

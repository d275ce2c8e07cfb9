import { AuthenticateResult, Permission, Role, UserId, contracts } from "@desk/contracts";
import { TRPCError, type TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { backendCall } from "../backend-call.js";
import { RetryAfter } from "../rate-limit.js";
import { authedProcedure, publicProcedure } from "../trpc.js";

const [Username, Password] = contracts.auth_service.authenticate.args.def.items;
const LoginInput = z.object({ username: Username, password: Password });

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

const [, OldPassword, NewPassword] = contracts.auth_service.change_password.args.def.items;

export const authRouter = {
  login: publicProcedure
    .meta({ openapi: { method: "POST", path: "/auth/login", tags: ["auth"], summary: "Log in; returns a JWT" } })
    .input(LoginInput)
    .output(LoginResult)
    .mutation(async ({ ctx, input }) => {
      const { limits, metrics, jwt, permissions } = ctx.gateway;
      // Per (username, address), on top of the per-address limit: password guessing
      // against one account gets a handful of tries a minute, whatever else the address does.
      const limitKey = `${input.username.trim().toLowerCase()}\u0000${ctx.clientIp}`;
      const wait = await limits.login.blockedFor(limitKey);
      if (wait > 0) {
        metrics.rateLimited.inc({ scope: "login" });
        const message = `Too many failed logins for this user from this address; retry in ${wait} s`;
        throw new TRPCError({ code: "TOO_MANY_REQUESTS", message, cause: new RetryAfter(message, wait) });
      }
      let result: AuthenticateResult;
      try {
        result = await ctx.backend.call("auth_service", "authenticate", [input.username, input.password], {
          claimedUsername: input.username,
        });
        if (!result.user.active) throw new TRPCError({ code: "UNAUTHORIZED", message: "User is disabled" });
      } catch (err) {
        if (err instanceof TRPCError && err.code === "UNAUTHORIZED") await limits.login.recordFailure(limitKey);
        throw err;
      }
      await limits.login.reset(limitKey);
      const { token, expiresAt } = await jwt.sign({
        userId: result.user.id,
        username: result.user.username,
        role: result.user.role,
      });
      permissions.invalidate(result.user.id);
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
      openapi: { method: "GET", path: "/auth/me", tags: ["auth"], protect: true, summary: "Who the token belongs to" },
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

  verifyUser: backendCall("auth_service", "verify_user", {
    args: ["userId"],
    ofUser: (input) => input.userId,
  }).query("/auth/users/{userId}/verify"),

  permissions: backendCall("auth_service", "get_user_permissions", {
    input: z.object({ userId: UserId.optional() }),
    args: (input, caller) => [input.userId ?? caller.userId],
    ofUser: (input, caller) => input.userId ?? caller.userId,
  }).query("/auth/permissions"),

  changePassword: backendCall("auth_service", "change_password", {
    input: z.object({ oldPassword: OldPassword, newPassword: NewPassword }),
    // Always the caller's own password: the user id comes from the token, never from input.
    args: (input, caller) => [caller.userId, input.oldPassword, input.newPassword],
  }).mutation("/auth/change-password"),
} satisfies TRPCRouterRecord;

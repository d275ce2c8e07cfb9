import {
  AuthenticateResult,
  Password,
  Permission,
  Role,
  UserId,
  type UserPermissions,
  Username,
  contracts,
} from "@desk/contracts";
import { TRPCError, type TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { refreshSession, issueTokens } from "../auth/session-tokens.js";
import { REVOKED } from "../auth/sessions.js";
import { backendCall, routeMeta } from "../backend-call.js";
import { RetryAfter } from "../rate-limit.js";
import { authedProcedure, guardedProcedure, publicWriteProcedure } from "../trpc.js";

// Bounded by the contracts (128 / 256 characters): checked before a limiter key is built or anything is hashed.
const LoginInput = z.object({ username: Username, password: Password.describe("password") });

const TokenPair = {
  token: z.string().describe("access token: send as Authorization: Bearer <token> (or ws connectionParams.token)"),
  tokenType: z.literal("Bearer"),
  expiresAt: z.string().describe("ISO-8601 expiry of the access token (minutes away: refresh it before then)"),
  expiresIn: z.number().describe("seconds until the access token expires, from when it was issued (with a fraction)"),
  refreshToken: z
    .string()
    .describe("exchange at auth.refresh for a new pair; each works once, a reuse ends the session"),
  refreshExpiresAt: z.string().describe("ISO-8601 end of the session: log in again after it"),
};

const LoginResult = z.object({
  ...TokenPair,
  user: AuthenticateResult.shape.user,
  permissions: z.array(Permission),
});

const RefreshInput = z.object({ refreshToken: z.string().min(1).max(4096) });
const RefreshResult = z.object(TokenPair);

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

const publicRoute = (path: `/${string}`, summary: string) =>
  routeMeta({ method: "POST", path, tag: "auth", summary, protect: false, errors: { 401: "Refused" } });

export const authRouter = {
  login: publicWriteProcedure
    .meta(publicRoute("/auth/login", "Log in; returns an access token and a refresh token"))
    .input(LoginInput)
    .output(LoginResult)
    .mutation(async ({ ctx, input }) => {
      const { limits, metrics, permissions, sessions } = ctx.gateway;
      const claimed = { userId: undefined, username: input.username };
      ctx.audit.identify(claimed);
      // Per (username, address) and per address across usernames, on top of the per-address
      // call limit: password guessing gets a handful of tries a minute, however it spreads them.
      const blocked = await limits.login.blockedFor(input.username, ctx.clientIp);
      if (blocked.seconds > 0) {
        metrics.rateLimited.inc({ scope: blocked.scope });
        const message =
          blocked.scope === "login-ip"
            ? `Too many failed logins from this address; retry in ${blocked.seconds} s`
            : `Too many failed logins for this user from this address; retry in ${blocked.seconds} s`;
        throw new TRPCError({ code: "TOO_MANY_REQUESTS", message, cause: new RetryAfter(message, blocked.seconds) });
      }
      let result: AuthenticateResult;
      let granted: UserPermissions;
      try {
        result = await ctx.backend.call("auth_service", "authenticate", [input.username, input.password], {
          claimedUsername: input.username,
        });
        if (!result.user.active) throw new TRPCError({ code: "UNAUTHORIZED", message: "User is disabled" });
        // A fresh lookup: the first call needs it anyway, and it names the token version when
        // authenticate does not (a backend may report it in one place only).
        permissions.invalidate(result.user.id);
        granted = await permissions.get(result.user.id);
      } catch (err) {
        if (err instanceof TRPCError && err.code === "UNAUTHORIZED")
          await limits.login.recordFailure(input.username, ctx.clientIp);
        ctx.audit.writeFailure(err, { reachedBackend: true });
        throw err;
      }
      await limits.login.reset(input.username, ctx.clientIp);
      const session = sessions.create({
        userId: result.user.id,
        username: result.user.username,
        role: result.user.role,
        tokenVersion: result.tokenVersion ?? granted.tokenVersion ?? undefined,
      });
      const tokens = await issueTokens(ctx.gateway, session);
      ctx.audit.identify({ userId: session.userId, username: session.username, sessionId: session.sessionId });
      ctx.audit.write({ outcome: "ok" });
      return { ...tokens, user: result.user, permissions: result.permissions };
    }),

  refresh: publicWriteProcedure
    .meta(publicRoute("/auth/refresh", "Exchange a refresh token for a new access token and refresh token"))
    .input(RefreshInput)
    .output(RefreshResult)
    .mutation(async ({ ctx, input }) => {
      try {
        const { session, tokens } = await refreshSession(ctx.gateway, input.refreshToken);
        ctx.audit.identify({ userId: session.userId, username: session.username, sessionId: session.sessionId });
        ctx.audit.write({ outcome: "ok", target: { generation: session.generation } });
        return tokens;
      } catch (err) {
        ctx.audit.writeFailure(err, { reachedBackend: false });
        throw err;
      }
    }),

  logout: guardedProcedure({ audit: true })
    .meta(
      routeMeta({
        method: "POST",
        path: "/auth/logout",
        tag: "auth",
        summary: "End this session: its access and refresh tokens stop working, its subscriptions end",
      }),
    )
    .input(z.void())
    .output(z.object({ loggedOut: z.literal(true) }))
    .mutation(({ ctx }) => {
      const { sessionId } = ctx.user;
      if (sessionId !== undefined) ctx.gateway.sessions.revoke(sessionId, REVOKED.logout);
      ctx.audit.write({ outcome: "ok" });
      return { loggedOut: true as const };
    }),

  me: authedProcedure
    .meta(routeMeta({ method: "GET", path: "/auth/me", tag: "auth", summary: "Who the token belongs to" }))
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
    // Every earlier token of the user stops working: here at once (its sessions, its running
    // subscriptions), at other replicas when they next read the user's token version.
    after: (_result, ctx) => {
      ctx.gateway.permissions.invalidate(ctx.user.userId);
      ctx.gateway.sessions.revokeUser(ctx.user.userId, REVOKED.password);
    },
  }).mutation("/auth/change-password", "Change your password: every token of yours issued before stops working"),
} satisfies TRPCRouterRecord;

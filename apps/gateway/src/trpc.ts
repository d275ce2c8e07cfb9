import type { Permission, UserPermissions } from "@desk/contracts";
import { TRPCError, initTRPC } from "@trpc/server";
import superjson from "superjson";
import type { OpenApiMeta } from "trpc-to-openapi";
import { z } from "zod";
import type { GatewayContext } from "./context.js";
import { type Jwt, TokenError } from "./auth/jwt.js";
import { type PermissionCache, hasPermission } from "./auth/permissions.js";
import type { Logger } from "./logger.js";
import type { Metrics } from "./metrics.js";
import type { TokenBuckets } from "./rate-limit.js";

/** The authenticated caller, added to the context by the auth middleware. */
export interface AuthUser {
  userId: string;
  username: string;
  role: UserPermissions["role"];
  permissions: Permission[];
  accounts: string[];
  allAccounts: boolean;
  /** Token expiry, seconds since the epoch. */
  tokenExp: number;
}

/** Input validation failures, reshaped so REST clients get a readable message (see inputErrors). */
class InputValidationError extends Error {
  override readonly name = "InputValidationError";
  constructor(
    message: string,
    readonly issues: ReadonlyArray<{ path: PropertyKey[]; message: string; code?: string }>,
  ) {
    super(message);
  }
}

function isZodError(err: unknown): err is z.ZodError {
  return err instanceof z.ZodError || (err instanceof Error && err.name === "ZodError");
}

export const t = initTRPC
  .context<GatewayContext>()
  .meta<OpenApiMeta>()
  .create({
    transformer: superjson,
    isServer: true,
    errorFormatter({ shape, error }) {
      // Stacks stay in the logs; unexpected internal errors keep their text there too.
      const { stack: _stack, ...data } = shape.data;
      const unexpected = error.code === "INTERNAL_SERVER_ERROR" && error.cause !== undefined && !(error.cause instanceof TRPCError);
      const issues = error.cause instanceof InputValidationError ? error.cause.issues : undefined;
      return {
        ...shape,
        message: unexpected ? "Internal server error" : shape.message,
        data: { ...data, ...(issues ? { issues: issues.map((i) => ({ path: i.path.map(String), message: i.message })) } : {}) },
      };
    },
  });

/** "accounts.1: Too small: expected string to have >=1 characters; text: Required" */
export function readableIssues(err: z.ZodError): string {
  return err.issues
    .slice(0, 10)
    .map((i) => (i.path.length > 0 ? `${i.path.map(String).join(".")}: ${i.message}` : i.message))
    .join("; ");
}

/**
 * Placed before .input(): a ZodError from input parsing is rethrown as a
 * BAD_REQUEST whose message lists the problems. trpc-to-openapi would otherwise
 * answer REST clients with a bare "Input validation failed".
 */
const inputErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && result.error.code === "BAD_REQUEST" && isZodError(result.error.cause)) {
    const zerr = result.error.cause;
    const message = `Invalid input: ${readableIssues(zerr)}`;
    return {
      ...result,
      error: new TRPCError({
        code: "BAD_REQUEST",
        message,
        cause: new InputValidationError(message, zerr.issues),
      }),
    };
  }
  return result;
});

export interface ProcedureDeps {
  jwt: Jwt;
  permissions: PermissionCache;
  userLimiter: TokenBuckets;
  ipLimiter: TokenBuckets;
  metrics: Metrics;
  logger: Logger;
  /** Calls in progress and the draining flag, for graceful shutdown. */
  lifecycle: { draining: boolean; inFlight: number; onIdle?: (() => void) | undefined };
}

/**
 * The procedure builders every router uses. A factory (not module state) so
 * several gateways can run in one process, each with its own limits and metrics.
 */
export function createProcedures(deps: ProcedureDeps) {
  const { metrics, lifecycle } = deps;

  const observe = t.middleware(async ({ path, type, next }) => {
    if (lifecycle.draining) {
      throw new TRPCError({ code: "SERVICE_UNAVAILABLE", message: "The gateway is shutting down; retry shortly" });
    }
    const started = performance.now();
    lifecycle.inFlight++;
    try {
      const result = await next();
      const code = result.ok ? "OK" : result.error.code;
      metrics.procedureCalls.inc({ path, type, code });
      const seconds = (performance.now() - started) / 1000;
      metrics.procedureLatency.observe({ path, type }, seconds);
      deps.logger.debug({ path, type, code, ms: Math.round(seconds * 1000) }, "procedure");
      if (!result.ok && (code === "INTERNAL_SERVER_ERROR" || code === "BAD_GATEWAY")) {
        deps.logger.error({ path, err: result.error.cause ?? result.error.message }, "procedure failed");
      }
      return result;
    } finally {
      lifecycle.inFlight--;
      if (lifecycle.inFlight === 0) lifecycle.onIdle?.();
    }
  });

  const limitByAddress = t.middleware(({ ctx, next }) => {
    if (!deps.ipLimiter.take(ctx.clientIp)) {
      metrics.rateLimited.inc({ scope: "ip" });
      throw new TRPCError({ code: "TOO_MANY_REQUESTS", message: "Too many requests from this address; slow down" });
    }
    return next();
  });

  const authenticate = t.middleware(async ({ ctx, next }) => {
    let claims: Awaited<ReturnType<Jwt["verify"]>>;
    try {
      // Verified on every operation, not once per connection: a WebSocket outlives its token.
      claims = await deps.jwt.verify(ctx.token);
    } catch (err) {
      const reason = err instanceof TokenError ? err.reason : "invalid";
      metrics.authFailures.inc({ reason });
      throw new TRPCError({ code: "UNAUTHORIZED", message: err instanceof TokenError ? err.message : "Invalid token" });
    }
    if (!deps.userLimiter.take(claims.userId)) {
      metrics.rateLimited.inc({ scope: "user" });
      throw new TRPCError({ code: "TOO_MANY_REQUESTS", message: "Too many requests for this user; slow down" });
    }
    let p: UserPermissions;
    try {
      p = await deps.permissions.get(claims.userId);
    } catch (err) {
      // A valid signature for a user the backend no longer knows is not a 404 of the route.
      if (err instanceof TRPCError && (err.code === "NOT_FOUND" || err.code === "UNAUTHORIZED")) {
        metrics.authFailures.inc({ reason: "unknown_user" });
        throw new TRPCError({ code: "UNAUTHORIZED", message: "User is unknown or disabled" });
      }
      throw err;
    }
    const user: AuthUser = {
      userId: claims.userId,
      username: claims.username,
      role: p.role,
      permissions: p.permissions,
      accounts: p.accounts,
      allAccounts: p.allAccounts,
      tokenExp: claims.exp,
    };
    return next({ ctx: { user } });
  });

  const publicProcedure = t.procedure.use(observe).use(limitByAddress).use(inputErrors);
  const authedProcedure = t.procedure.use(observe).use(limitByAddress).use(authenticate).use(inputErrors);

  /** A procedure that also needs `permission` (admin implies every permission). */
  function withPermission(permission: Permission) {
    return authedProcedure.use(({ ctx, next }) => {
      if (!hasPermission(ctx.user, permission)) {
        metrics.authFailures.inc({ reason: "forbidden" });
        throw new TRPCError({ code: "FORBIDDEN", message: `Role ${ctx.user.role} lacks the ${permission} permission` });
      }
      return next();
    });
  }

  return { publicProcedure, authedProcedure, withPermission };
}

export type Procedures = ReturnType<typeof createProcedures>;

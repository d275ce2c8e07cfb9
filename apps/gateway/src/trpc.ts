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

/** Keys superjson refuses or rewrites itself (prototype pollution guards): left to it. */
const RESERVED_KEYS = new Set(["__proto__", "constructor", "prototype"]);

/**
 * True when superjson would add nothing: only strings, finite numbers (not -0),
 * booleans, null, plain objects and arrays, no object reached twice (superjson
 * records shared references), no reserved key. Then its output is exactly
 * { json: value }, with the same JSON text.
 */
function isPlainJson(value: unknown, seen: Set<object>): boolean {
  if (value === null || typeof value === "string" || typeof value === "boolean") return true;
  if (typeof value === "number") return Number.isFinite(value) && !Object.is(value, -0);
  if (typeof value !== "object") return false;
  if (seen.has(value)) return false;
  seen.add(value);
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return false;
    // Indexed reads: a hole reads as undefined and falls back to superjson, like undefined itself.
    for (let i = 0; i < value.length; i++) if (!isPlainJson(value[i], seen)) return false;
    return true;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const key of Object.keys(value)) {
    if (RESERVED_KEYS.has(key) || !isPlainJson((value as Record<string, unknown>)[key], seen)) return false;
  }
  return true;
}

/**
 * superjson on the wire (the SDK's links use it), with its walk skipped when there
 * is nothing to annotate. superjson.serialize builds a path array and an identity
 * map entry for every node of every reply, and deserialize deep-copies every input;
 * for the plain JSON that almost every reply and input is, that was ~5% of the
 * gateway's CPU per call (and runs once per subscriber per event). Anything else
 * (Date, Map, undefined, NaN, shared references, ...) goes through superjson itself.
 */
export const transformer = {
  serialize(value: unknown): unknown {
    return isPlainJson(value, new Set()) ? { json: value } : superjson.serialize(value);
  },
  deserialize(payload: unknown): unknown {
    // No meta: nothing to restore, and the parsed JSON is already a fresh object
    // (superjson's copy only protects its own in-place annotation pass).
    if (typeof payload === "object" && payload !== null && !("meta" in payload)) {
      return (payload as { json?: unknown }).json;
    }
    return superjson.deserialize(payload as Parameters<typeof superjson.deserialize>[0]);
  },
};

export const t = initTRPC
  .context<GatewayContext>()
  .meta<OpenApiMeta>()
  .create({
    transformer,
    isServer: true,
    errorFormatter({ shape, error }) {
      // Stacks stay in the logs; unexpected internal errors keep their text there too.
      const { stack: _stack, ...data } = shape.data;
      const unexpected =
        error.code === "INTERNAL_SERVER_ERROR" && error.cause !== undefined && !(error.cause instanceof TRPCError);
      const issues = error.cause instanceof InputValidationError ? error.cause.issues : undefined;
      return {
        ...shape,
        message: unexpected ? "Internal server error" : shape.message,
        data: {
          ...data,
          ...(issues ? { issues: issues.map((i) => ({ path: i.path.map(String), message: i.message })) } : {}),
        },
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
 * A ZodError from input parsing becomes a BAD_REQUEST whose message lists the
 * problems. trpc-to-openapi would otherwise answer REST clients with a bare
 * "Input validation failed". Applied by the guard, which runs before .input().
 */
function withReadableInputErrors<R extends { ok: boolean; error?: TRPCError }>(result: R): R {
  const cause = result.error?.cause;
  if (result.ok || result.error?.code !== "BAD_REQUEST" || !isZodError(cause)) return result;
  const message = `Invalid input: ${readableIssues(cause)}`;
  return {
    ...result,
    error: new TRPCError({ code: "BAD_REQUEST", message, cause: new InputValidationError(message, cause.issues) }),
  };
}

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

  function admitAddress(ctx: GatewayContext): void {
    if (!deps.ipLimiter.take(ctx.clientIp)) {
      metrics.rateLimited.inc({ scope: "ip" });
      throw new TRPCError({ code: "TOO_MANY_REQUESTS", message: "Too many requests from this address; slow down" });
    }
  }

  async function authenticate(ctx: GatewayContext, permission: Permission | undefined): Promise<AuthUser> {
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
    if (permission !== undefined && !hasPermission(p, permission)) {
      metrics.authFailures.inc({ reason: "forbidden" });
      throw new TRPCError({ code: "FORBIDDEN", message: `Role ${p.role} lacks the ${permission} permission` });
    }
    return {
      userId: claims.userId,
      username: claims.username,
      role: p.role,
      permissions: p.permissions,
      accounts: p.accounts,
      allAccounts: p.allAccounts,
      tokenExp: claims.exp,
    };
  }

  function logFailure(path: string, code: string, err: unknown): void {
    if (code === "INTERNAL_SERVER_ERROR" || code === "BAD_GATEWAY")
      deps.logger.error({ path, err }, "procedure failed");
  }

  /**
   * Everything a call passes before its input is parsed, in one middleware: drain
   * check, metrics and in-flight count, per-address limit, then (when `auth`) token,
   * per-user limit, permissions and `permission`. One middleware rather than five:
   * tRPC copies the context and wraps the result at every middleware boundary, and
   * that was a measurable share of a call's CPU.
   */
  function guard(auth: boolean, permission?: Permission) {
    return t.middleware(async ({ ctx, path, type, next }) => {
      if (lifecycle.draining) {
        throw new TRPCError({ code: "SERVICE_UNAVAILABLE", message: "The gateway is shutting down; retry shortly" });
      }
      const started = performance.now();
      lifecycle.inFlight++;
      let code = "INTERNAL_SERVER_ERROR";
      try {
        admitAddress(ctx);
        const result = withReadableInputErrors(
          auth ? await next({ ctx: { user: await authenticate(ctx, permission) } }) : await next(),
        );
        code = result.ok ? "OK" : result.error.code;
        if (!result.ok) logFailure(path, code, result.error.cause ?? result.error.message);
        return result;
      } catch (err) {
        // Thrown by the checks above (before next()): counted like any other outcome.
        code = err instanceof TRPCError ? err.code : "INTERNAL_SERVER_ERROR";
        logFailure(path, code, err instanceof TRPCError ? (err.cause ?? err.message) : err);
        throw err;
      } finally {
        const seconds = (performance.now() - started) / 1000;
        metrics.procedureCalls.inc({ path, type, code });
        metrics.procedureLatency.observe({ path, type }, seconds);
        deps.logger.debug({ path, type, code, ms: Math.round(seconds * 1000) }, "procedure");
        lifecycle.inFlight--;
        if (lifecycle.inFlight === 0) lifecycle.onIdle?.();
      }
    });
  }

  const publicProcedure = t.procedure.use(guard(false));
  const authedProcedure = t.procedure.use(guard(true));

  /** A procedure that also needs `permission` (admin implies every permission). */
  function withPermission(permission: Permission) {
    return t.procedure.use(guard(true, permission));
  }

  return { publicProcedure, authedProcedure, withPermission };
}

export type Procedures = ReturnType<typeof createProcedures>;

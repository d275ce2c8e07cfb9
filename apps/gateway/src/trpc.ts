import type { Permission } from "@desk/contracts";
import { initTRPC } from "@trpc/server";
import type { OpenApiMeta } from "trpc-to-openapi";
import type { GatewayContext } from "./context.js";
import { formatError, withReadableInputErrors } from "./errors.js";
import { admitCaller } from "./middleware/admit.js";
import { anonymousBackend, userBackend } from "./middleware/backend.js";
import { admitAddress } from "./middleware/limits.js";
import { observe } from "./middleware/observe.js";
import { runtimeOf } from "./runtime.js";
import { transformer } from "./transformer.js";

const t = initTRPC.context<GatewayContext>().meta<OpenApiMeta>().create({
  transformer,
  isServer: true,
  errorFormatter: formatError,
});

export const createTRPCRouter = t.router;

/*
 * Every call passes exactly one middleware, which runs each concern in turn
 * (middleware/*.ts): lifecycle and metrics, the per-address limit, then for
 * authenticated procedures the token, the per-user limit, permissions and the
 * procedure's permission; and it binds ctx.backend (and ctx.user, ctx.gateway).
 * One rather than five: tRPC copies the context and wraps the result at every
 * middleware boundary, which was a measurable share of a call's CPU.
 */

/** Anyone may call (login, health): ctx.backend calls as "anonymous". */
export const publicProcedure = t.procedure.use(({ ctx, path, type, signal, next }) => {
  const gateway = runtimeOf(ctx.runtime);
  return observe(gateway, { path, type }, async () => {
    await admitAddress(gateway, ctx.clientIp);
    const backend = anonymousBackend(gateway, signal ?? ctx.requestSignal ?? undefined);
    return withReadableInputErrors(await next({ ctx: { gateway, backend } }));
  });
});

/** The guard of authenticated procedures, with the permission (if any) their callers need. */
function authenticated(permission: Permission | undefined) {
  return t.middleware(({ ctx, path, type, signal, next }) => {
    const gateway = runtimeOf(ctx.runtime);
    return observe(gateway, { path, type }, async () => {
      const user = await admitCaller(gateway, ctx, permission);
      const backend = userBackend(gateway, user.userId, signal ?? ctx.requestSignal ?? undefined);
      return withReadableInputErrors(await next({ ctx: { gateway, user, backend } }));
    });
  });
}

/** A valid token: ctx.user is the caller, ctx.backend calls as them. */
export const authedProcedure = t.procedure.use(authenticated(undefined));

const byPermission = new Map<Permission, typeof authedProcedure>();

/**
 * An authenticated procedure whose caller also needs `permission` (admin implies
 * every one), checked before the input is parsed, so a caller without it learns
 * nothing about inputs. The permission is baked into the guard, not put in the
 * meta: the meta type is part of the router's type (bundled by the SDK) and stays
 * trpc-to-openapi's own.
 */
export function withPermission(permission: Permission): typeof authedProcedure {
  let procedure = byPermission.get(permission);
  if (!procedure) {
    procedure = t.procedure.use(authenticated(permission));
    byPermission.set(permission, procedure);
  }
  return procedure;
}

import type { Permission } from "@desk/contracts";
import { initTRPC, type TRPCError } from "@trpc/server";
import type { OpenApiMeta } from "trpc-to-openapi";
import type { GatewayContext } from "./context.js";
import { formatError, withReadableInputErrors } from "./errors.js";
import { admitCaller } from "./middleware/admit.js";
import { type AuditTrail, anonymousBackend, auditTrail, userBackend } from "./middleware/backend.js";
import { admitAddress } from "./middleware/limits.js";
import { observe } from "./middleware/observe.js";
import type { GatewayRuntime } from "./runtime.js";
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
 * procedure's permission; and it binds ctx.backend and ctx.audit (and ctx.user,
 * ctx.gateway). One rather than five: tRPC copies the context and wraps the result
 * at every middleware boundary, which was a measurable share of a call's CPU.
 */

/** What a guard knows of its procedure: the permission its callers need, and whether it is a write (audited). */
interface GuardSpec {
  permission?: Permission | undefined;
  /** A write: its refusals before the backend call (token, limits, permission, input) get an audit line too. */
  audit?: boolean | undefined;
}

/**
 * A refusal of an audited write that never reached the backend (and wrote no line
 * of its own): the line says who, from where, and why.
 */
async function auditRefusals<R extends { ok: boolean; error?: TRPCError }>(
  spec: GuardSpec,
  audit: AuditTrail,
  run: () => Promise<R>,
): Promise<R> {
  if (!spec.audit) return run();
  let result: R;
  try {
    result = await run();
  } catch (err) {
    if (!audit.written) audit.writeFailure(err, { reachedBackend: false });
    throw err;
  }
  if (!result.ok && !audit.written) audit.writeFailure(result.error, { reachedBackend: false });
  return result;
}

function origin(ctx: GatewayContext, path: string) {
  return { path, ip: ctx.clientIp, transport: ctx.transport };
}

function publicGuard(spec: GuardSpec) {
  return t.middleware(({ ctx, path, type, signal, next }) => {
    const gateway = runtimeOf(ctx.runtime);
    const audit = auditTrail(gateway, origin(ctx, path));
    return observe(gateway, { path, type, clock: ctx.clock }, (timing) =>
      auditRefusals(spec, audit, async () => {
        await admitAddress(gateway, ctx.clientIp);
        const backend = anonymousBackend(gateway, audit, signal ?? ctx.requestSignal ?? undefined, timing);
        return withReadableInputErrors(await next({ ctx: { gateway, backend, audit } }));
      }),
    );
  });
}

/** The guard of authenticated procedures. */
function authenticatedGuard(spec: GuardSpec) {
  return t.middleware(({ ctx, path, type, signal, next }) => {
    const gateway: GatewayRuntime = runtimeOf(ctx.runtime);
    const audit = auditTrail(gateway, origin(ctx, path));
    return observe(gateway, { path, type, clock: ctx.clock }, (timing) =>
      auditRefusals(spec, audit, async () => {
        const user = await admitCaller(gateway, ctx, spec.permission, audit);
        const backend = userBackend(gateway, user, audit, signal ?? ctx.requestSignal ?? undefined, timing);
        return withReadableInputErrors(await next({ ctx: { gateway, user, backend, audit } }));
      }),
    );
  });
}

/** Anyone may call (health): ctx.backend calls as "anonymous". */
export const publicProcedure = t.procedure.use(publicGuard({}));

/** Anyone may call, and it is a write of the gateway's own (login, refresh): refusals are audited. */
export const publicWriteProcedure = t.procedure.use(publicGuard({ audit: true }));

/** A valid token: ctx.user is the caller, ctx.backend calls as them. */
export const authedProcedure = t.procedure.use(authenticatedGuard({}));

const guarded = new Map<string, typeof authedProcedure>();

/**
 * An authenticated procedure whose caller needs `permission` (admin implies every
 * one), checked before the input is parsed, so a caller without it learns nothing
 * about inputs; with `audit`, a write whose every refusal leaves an audit line. Both
 * are baked into the guard, not put in the meta: the meta type is part of the
 * router's type (bundled by the SDK) and stays trpc-to-openapi's own.
 */
export function guardedProcedure(spec: GuardSpec): typeof authedProcedure {
  const key = `${spec.permission ?? ""}|${spec.audit === true}`;
  let procedure = guarded.get(key);
  if (!procedure) {
    procedure = t.procedure.use(authenticatedGuard(spec));
    guarded.set(key, procedure);
  }
  return procedure;
}

/** An authenticated procedure whose caller also needs `permission`. */
export function withPermission(permission: Permission): typeof authedProcedure {
  return guardedProcedure({ permission });
}

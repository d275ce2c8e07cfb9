import { type ArgsOf, type MethodName, type ResultOf, type ServiceName, getMethodContract } from "@desk/contracts";
import { TRPCError } from "@trpc/server";
import { type AuditEntry, auditResult, auditTarget, failureOutcome } from "../audit.js";
import type { CallTiming } from "../context.js";
import type { GatewayRuntime } from "../runtime.js";

export interface CallOptions {
  /** A caller-chosen MDP requestId (an idempotency key, see routers/client-order.ts). */
  requestId?: string | undefined;
  /** The caller's key behind requestId, named in an unknown-outcome error. */
  clientOrderId?: string | undefined;
}

/**
 * ctx.backend: the trading system's methods, called on behalf of this request's
 * caller. The user id (for the Python side's audit), the request's abort signal
 * (an aborted request cancels its MDP call) and the metrics travel with every
 * call, so a procedure only says which method and which args. Every write (a
 * contract method of kind "write") also leaves its line in the audit trail here,
 * whatever procedure or transport made it: this is the one place writes pass.
 */
export interface Backend {
  call<S extends ServiceName, M extends MethodName<S>>(
    service: S,
    method: M,
    args: ArgsOf<S, M>,
    options?: CallOptions,
  ): Promise<ResultOf<S, M>>;
}

/** ctx.backend before authentication: calls are audited as "anonymous", or for a login as the name it claims. */
export interface AnonymousBackend {
  call<S extends ServiceName, M extends MethodName<S>>(
    service: S,
    method: M,
    args: ArgsOf<S, M>,
    options?: CallOptions & { claimedUsername?: string },
  ): Promise<ResultOf<S, M>>;
}

/** Who is calling, as far as the gateway knows at that point of the call. */
export interface Caller {
  userId: string | undefined;
  username: string | undefined;
  sessionId?: string | undefined;
}

/** Where one call comes from and when it started: what every audit line of it says. */
export interface CallOrigin {
  path: string;
  ip: string;
  transport: "http" | "ws" | "socket.io";
}

type AuditFields = Omit<AuditEntry, "action" | "ip" | "transport" | "durationMs" | "userId" | "username"> &
  Partial<Pick<AuditEntry, "userId" | "username">>;

/**
 * ctx.audit: the audit line of one call, written once, whoever writes it: the
 * backend binding below for a write that reached the backend, the router for the
 * gateway's own writes (login, refresh, logout), the guard or the declared checks
 * for a write refused before it was sent.
 */
export interface AuditTrail {
  readonly written: boolean;
  /** The caller, once authentication has said who it is. */
  identify(caller: Caller): void;
  write(fields: AuditFields): void;
  /** The line of a write that failed: `reachedBackend` tells a refusal from a failure. */
  writeFailure(err: unknown, fields: Omit<AuditFields, "outcome"> & { reachedBackend: boolean }): void;
}

export function auditTrail(runtime: GatewayRuntime, origin: CallOrigin, caller?: Caller): AuditTrail {
  const started = performance.now();
  let who: Caller = caller ?? { userId: undefined, username: undefined };
  let written = false;
  const trail: AuditTrail = {
    get written() {
      return written;
    },
    identify(next) {
      who = next;
    },
    write(fields) {
      if (written) return;
      written = true;
      runtime.audit.record({
        action: origin.path,
        userId: who.userId,
        username: who.username,
        sessionId: who.sessionId,
        ip: origin.ip,
        transport: origin.transport,
        ...fields,
        durationMs: Math.round((performance.now() - started) * 10) / 10,
      });
    },
    writeFailure(err, { reachedBackend, ...fields }) {
      trail.write({
        ...fields,
        outcome: failureOutcome(err, reachedBackend),
        code: err instanceof TRPCError ? err.code : "INTERNAL_SERVER_ERROR",
        message: err instanceof TRPCError ? err.message : "Internal server error",
      });
    },
  };
  return trail;
}

/** The backend for one authenticated request. */
export function userBackend(
  runtime: GatewayRuntime,
  caller: Caller & { userId: string },
  audit: AuditTrail,
  signal: AbortSignal | undefined,
  timing?: CallTiming,
): Backend {
  return boundBackend(runtime, audit, signal, timing, () => caller.userId);
}

/** The backend for one request that has no user (yet). */
export function anonymousBackend(
  runtime: GatewayRuntime,
  audit: AuditTrail,
  signal: AbortSignal | undefined,
  timing?: CallTiming,
): AnonymousBackend {
  return boundBackend(runtime, audit, signal, timing, (options) =>
    options?.claimedUsername === undefined ? "anonymous" : `anonymous:${options.claimedUsername}`,
  );
}

/** A request's backend: every call carries its signal, its timing and the user id it is made as. */
function boundBackend(
  runtime: GatewayRuntime,
  audit: AuditTrail,
  signal: AbortSignal | undefined,
  timing: CallTiming | undefined,
  userIdOf: (options: (CallOptions & { claimedUsername?: string }) | undefined) => string,
): AnonymousBackend {
  return {
    call: (service, method, args, options) =>
      auditedCall(runtime, audit, service, method, args, {
        userId: userIdOf(options),
        signal,
        requestId: options?.requestId,
        clientOrderId: options?.clientOrderId,
        timing,
      }),
  };
}

/** One backend call; a write's line (ids, target, outcome, duration) goes to the audit trail. */
async function auditedCall<S extends ServiceName, M extends MethodName<S>>(
  runtime: GatewayRuntime,
  audit: AuditTrail,
  service: S,
  method: M,
  args: ArgsOf<S, M>,
  call: {
    userId: string;
    signal: AbortSignal | undefined;
    requestId: string | undefined;
    clientOrderId: string | undefined;
    /** The call's figures: rpc.call adds its MDP round trips' time (gateway_call_overhead_seconds). */
    timing: CallTiming | undefined;
  },
): Promise<ResultOf<S, M>> {
  const { clientOrderId } = call;
  if (getMethodContract(service, method)?.kind !== "write") return runtime.rpc.call(service, method, args, call);
  let requestId = call.requestId;
  const fields = {
    method: `${service}.${method}`,
    clientOrderId,
    target: auditTarget(service, method, args),
  };
  try {
    const result = await runtime.rpc.call(service, method, args, {
      ...call,
      onRequestId: (id) => {
        requestId = id;
      },
    });
    audit.write({ ...fields, requestId, outcome: "ok", result: auditResult(service, method, result) });
    return result;
  } catch (err) {
    audit.writeFailure(err, { ...fields, requestId, reachedBackend: true });
    throw err;
  }
}

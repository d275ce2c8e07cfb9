import type { ArgsOf, MethodName, ResultOf, ServiceName } from "@desk/contracts";
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
 * call, so a procedure only says which method and which args.
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

/** The backend for one authenticated request. */
export function userBackend(runtime: GatewayRuntime, userId: string, signal: AbortSignal | undefined): Backend {
  return {
    call: (service, method, args, options) =>
      runtime.rpc.call(service, method, args, {
        userId,
        signal,
        requestId: options?.requestId,
        clientOrderId: options?.clientOrderId,
      }),
  };
}

/** The backend for one request that has no user (yet). */
export function anonymousBackend(runtime: GatewayRuntime, signal: AbortSignal | undefined): AnonymousBackend {
  return {
    call: (service, method, args, options) =>
      runtime.rpc.call(service, method, args, {
        userId: options?.claimedUsername === undefined ? "anonymous" : `anonymous:${options.claimedUsername}`,
        signal,
        requestId: options?.requestId,
      }),
  };
}

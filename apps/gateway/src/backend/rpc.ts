import {
  type ArgsOf,
  type MethodContract,
  type MethodName,
  type ResultOf,
  type ServiceName,
  getMethodContract,
} from "@desk/contracts";
import { asTuple } from "@desk/pickle";
import { TRPCError } from "@trpc/server";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import {
  type CallFailure,
  type FailedCall,
  type TimeoutDiagnosis,
  failureOfBackendError,
  failureOfMdpError,
  mdpErrorCode,
} from "./errors.js";
import { isListening } from "./probe.js";
import type { BrokerClient, Codec } from "./types.js";

/** Who is calling and for how long: forwarded to Python in kwargs._ctx for its audit trail. */
export interface CallContext {
  userId: string;
  /** Aborts the MDP request (no further tries; a late reply is dropped) when the caller goes away. */
  signal?: AbortSignal | undefined;
  /**
   * A caller-chosen MDP requestId (an idempotency key, see clientOrderId): the
   * worker answers a repeat from its reply cache instead of running it again.
   * A call with the same id already in flight here is joined, not sent twice.
   */
  requestId?: string | undefined;
}

/**
 * Calls one service method over the broker: pickle([method, args, {_ctx}]) out,
 * [True, result] | [False, message] back, the result checked against the
 * contract, once: callers return it as it is. Every failure becomes a TRPCError
 * whose message names the service (backend/errors.ts says which).
 */
export function createBackendRpc(o: {
  client: BrokerClient;
  codec: Codec;
  logger: Logger;
  metrics: Metrics;
  timeout: number;
  retries: number;
}) {
  const { client, codec, logger, metrics } = o;

  /** Calls with a caller-chosen requestId in flight, joined by a repeat. */
  const joinable = new Map<string, { result: Promise<unknown>; join: (signal: AbortSignal | undefined) => void }>();

  function call<S extends ServiceName, M extends MethodName<S>>(
    service: S,
    method: M,
    args: ArgsOf<S, M>,
    ctx: CallContext,
  ): Promise<ResultOf<S, M>> {
    const id = ctx.requestId;
    if (id === undefined) return callOnce(service, method, args, ctx.userId, client.nextRequestId(), ctx.signal);
    const running = joinable.get(id);
    if (running) {
      running.join(ctx.signal);
      return running.result as Promise<ResultOf<S, M>>;
    }
    const shared = sharedAbort(ctx.signal);
    const result = callOnce(service, method, args, ctx.userId, id, shared.signal).finally(() => joinable.delete(id));
    joinable.set(id, { result, join: shared.join });
    return result;
  }

  async function callOnce<S extends ServiceName, M extends MethodName<S>>(
    service: S,
    method: M,
    args: ArgsOf<S, M>,
    userId: string,
    requestId: string,
    signal: AbortSignal | undefined,
  ): Promise<ResultOf<S, M>> {
    const contract: MethodContract | undefined = getMethodContract(service, method);
    if (!contract)
      throw new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: `Unknown method ${service}.${method}` });
    // The contract's kind goes with the call to where MdpClient sends it: a read may be
    // retried freely, a write is sent at most once (DESIGN.md, "Timeouts and retries").
    const call: FailedCall = {
      service,
      method,
      kind: contract.kind,
      requestId,
      timeout: o.timeout,
      retries: o.retries,
    };
    const started = performance.now();
    const done = (outcome: string) => {
      metrics.backendRequests.inc({ service, method, outcome });
      metrics.backendLatency.observe({ service, method }, (performance.now() - started) / 1000);
    };
    const fail = (failure: CallFailure, cause?: unknown): never => {
      done(failure.outcome);
      metrics.backendErrors.inc({ service, method, code: failure.code });
      throw new TRPCError({
        code: failure.code,
        message: failure.message,
        ...(cause instanceof Error ? { cause } : {}),
      });
    };

    // One id for the whole call: MdpClient reuses it on every try, workers answer a
    // repeated id from their reply cache, and Python sees the same id in _ctx.
    const payload = await codec.encode([method, asTuple([...(args as unknown[])]), { _ctx: { userId, requestId } }]);
    let replyBytes: Buffer;
    try {
      replyBytes = await client.request(service, payload, {
        requestId,
        timeout: o.timeout,
        retries: o.retries,
        // Reads may be retried freely; writes go at most once (MdpClient's default).
        idempotent: contract.kind === "read",
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      const code = mdpErrorCode(err);
      const detail = err instanceof Error ? err.message : String(err);
      logger.warn({ service, method, kind: call.kind, requestId, code, err: detail }, "backend call failed");
      if (code === "TIMEOUT") metrics.backendTimeouts.inc({ service, method });
      else if (code === undefined)
        logger.error({ service, method, requestId, err }, "unexpected error calling backend");
      const diagnosis = code === "TIMEOUT" ? await diagnoseTimeout(service) : undefined;
      return fail(failureOfMdpError(code, detail, call, diagnosis), err);
    }

    let reply: unknown;
    try {
      reply = await codec.decode(replyBytes);
    } catch (err) {
      logger.error({ service, method, requestId, err: String(err) }, "undecodable backend reply");
      return fail({
        outcome: "bad_reply",
        code: "BAD_GATEWAY",
        message: `${service} sent an undecodable reply to ${service}.${method}`,
      });
    }
    if (!Array.isArray(reply) || reply.length !== 2 || typeof reply[0] !== "boolean") {
      logger.error({ service, method, requestId }, "backend reply is not [ok, value]");
      return fail({
        outcome: "bad_reply",
        code: "BAD_GATEWAY",
        message: `${service} sent a reply to ${service}.${method} that is not [ok, value]`,
      });
    }
    const [ok, value] = reply as [boolean, unknown];
    if (!ok) {
      const raw = typeof value === "string" ? value : String(value);
      const failure = failureOfBackendError(raw, call);
      // The full text may be a Python traceback: logged here, only its last line is shown.
      if (failure.code === "INTERNAL_SERVER_ERROR")
        logger.error({ service, method, requestId, backendError: raw }, "backend internal error");
      else logger.debug({ service, method, requestId, backendError: raw }, "backend refused the call");
      return fail(failure);
    }
    const checked = contract.result.safeParse(value);
    if (!checked.success) {
      logger.error(
        { service, method, requestId, issues: checked.error.issues.slice(0, 5) },
        "backend reply does not match the contract",
      );
      const first = checked.error.issues[0];
      const where = first ? ` at ${first.path.join(".") || "(root)"}: ${first.message}` : "";
      return fail({
        outcome: "bad_reply",
        code: "BAD_GATEWAY",
        message: `${service} sent an invalid result for ${service}.${method}${where}`,
      });
    }
    done("ok");
    return checked.data as ResultOf<S, M>;
  }

  /** A timeout is often something quicker to name: no broker at all, or a broker without workers for it. */
  async function diagnoseTimeout(service: string): Promise<TimeoutDiagnosis> {
    const endpoint = client.stats().endpoint;
    if (endpoint.startsWith("tcp://") && !(await isListening(endpoint, 300))) return { brokerUnreachable: endpoint };
    if ((await serviceStatus(service, 500)) === "404") return { noWorkers: true };
    return undefined;
  }

  /** RFC 8 lookup: "200" when at least one live worker serves `service`. One try: a status probe must not multiply load. */
  async function serviceStatus(service: string, timeout: number): Promise<"200" | "404" | "501" | "unreachable"> {
    try {
      return await client.mmi(service, { timeout, retries: 1 });
    } catch {
      return "unreachable";
    }
  }

  return { call, serviceStatus };
}

export type BackendRpc = ReturnType<typeof createBackendRpc>;

/**
 * The signal of a call that several callers joined: it aborts only once every one
 * of them has gone (a caller without a signal never goes), so one retry giving up
 * does not cancel the order for the others.
 */
function sharedAbort(first: AbortSignal | undefined): {
  signal: AbortSignal | undefined;
  join: (signal: AbortSignal | undefined) => void;
} {
  if (!first) return { signal: undefined, join: () => undefined };
  const controller = new AbortController();
  let waiting = 0;
  let forever = false;
  const follow = (signal: AbortSignal | undefined) => {
    if (!signal) {
      forever = true;
      return;
    }
    if (signal.aborted) return;
    waiting++;
    signal.addEventListener(
      "abort",
      () => {
        waiting--;
        if (waiting === 0 && !forever) controller.abort();
      },
      { once: true },
    );
  };
  follow(first);
  if (waiting === 0) controller.abort();
  return { signal: controller.signal, join: follow };
}

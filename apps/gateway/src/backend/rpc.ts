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
import type { CallTiming } from "../context.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import type { BrokerWatch } from "./broker-watch.js";
import {
  type CallFailure,
  type FailedCall,
  type TimeoutDiagnosis,
  badReply,
  failureOfBackendError,
  failureOfMdpError,
  mdpErrorCode,
  trpcErrorOf,
  unavailable,
} from "./errors.js";
import type { BrokerClient, Codec } from "./types.js";
import { type WriteAnswer, createWriteOutcomes } from "./write-outcomes.js";

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
  /** The caller's own key behind `requestId` (instruction.execute's clientOrderId), named in errors. */
  clientOrderId?: string | undefined;
  /** Told the requestId the call goes out with (the audit trail records it). */
  onRequestId?: ((requestId: string) => void) | undefined;
  /** The call's figures: the MDP round trips' time is added to backendMs (gateway_call_overhead_seconds). */
  timing?: CallTiming | undefined;
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
  /** ZMQ_DEDUPE_WRITES: the backend answers a repeated requestId from a reply cache, so writes are retried like reads. */
  dedupeWrites: boolean;
  /** Whether a broker listens: while it is known not to, calls fail at once. */
  broker: BrokerWatch;
  /** Where the gateway remembers writes' answers (not with dedupeWrites: the backend does). */
  writeMemory: { max: number; ttlMs: number; events: Parameters<typeof createWriteOutcomes>[0]["events"] };
}) {
  const { client, codec, logger, metrics } = o;
  let shuttingDown = false;

  /** Calls with a caller-chosen requestId in flight, joined by a repeat. */
  const joinable = new Map<string, { result: Promise<unknown>; join: (signal: AbortSignal | undefined) => void }>();
  /** Calls in flight (shutdown waits until each has its answer). */
  let inFlight = 0;

  // A backend without a reply cache would act twice on a repeated requestId: the gateway
  // answers repeats itself (backend/write-outcomes.ts). One with a cache answers them.
  const writes = o.dedupeWrites
    ? undefined
    : createWriteOutcomes({ ...o.writeMemory, logger, metrics, readReply: readLateReply });

  function call<S extends ServiceName, M extends MethodName<S>>(
    service: S,
    method: M,
    args: ArgsOf<S, M>,
    ctx: CallContext,
  ): Promise<ResultOf<S, M>> {
    const id = ctx.requestId;
    if (id === undefined) {
      const requestId = client.nextRequestId();
      ctx.onRequestId?.(requestId);
      return tracked(callOnce(service, method, args, ctx, requestId, ctx.signal));
    }
    ctx.onRequestId?.(id);
    const remembered = writes?.answerOf(id);
    if (remembered) {
      logger.info({ service, method, requestId: id, answer: remembered.kind }, "a repeated write answered, not sent");
      return answered(remembered) as Promise<ResultOf<S, M>>;
    }
    const running = joinable.get(id);
    if (running) {
      running.join(ctx.signal);
      return running.result as Promise<ResultOf<S, M>>;
    }
    const shared = sharedAbort(ctx.signal);
    const result = tracked(callOnce(service, method, args, ctx, id, shared.signal)).finally(() => joinable.delete(id));
    joinable.set(id, { result, join: shared.join });
    return result;
  }

  function tracked<T>(running: Promise<T>): Promise<T> {
    inFlight++;
    return running.finally(() => {
      inFlight--;
    });
  }

  async function answered(answer: WriteAnswer): Promise<unknown> {
    if (answer.kind === "result") return answer.value;
    throw trpcErrorOf(answer.failure);
  }

  async function callOnce<S extends ServiceName, M extends MethodName<S>>(
    service: S,
    method: M,
    args: ArgsOf<S, M>,
    ctx: CallContext,
    requestId: string,
    signal: AbortSignal | undefined,
  ): Promise<ResultOf<S, M>> {
    const contract: MethodContract | undefined = getMethodContract(service, method);
    if (!contract)
      throw new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: `Unknown method ${service}.${method}` });
    const { userId } = ctx;
    // The contract's kind goes with the call to where MdpClient sends it: a read may be
    // retried freely, a write is sent at most once unless the backend deduplicates
    // (DESIGN.md, "Timeouts and retries").
    const idempotent = contract.kind === "read" || o.dedupeWrites;
    const call: FailedCall = {
      service,
      method,
      kind: contract.kind,
      requestId,
      clientOrderId: ctx.clientOrderId,
      idempotent,
      shuttingDown,
      timeout: o.timeout,
      retries: o.retries,
    };
    // Only a write with the caller's own id can be repeated: its answer is what a repeat gets.
    const remember = contract.kind === "write" && ctx.requestId !== undefined ? writes : undefined;
    const started = performance.now();
    const done = (outcome: string) => {
      metrics.backendRequests.inc({ service, method, outcome });
      metrics.backendLatency.observe({ service, method }, (performance.now() - started) / 1000);
    };
    const fail = (failure: CallFailure, cause?: unknown): never => {
      done(failure.outcome);
      metrics.backendErrors.inc({ service, method, code: failure.code });
      remember?.settle(requestId, service, method, { kind: "failure", failure });
      throw trpcErrorOf(failure, cause);
    };

    if (o.broker.isDown()) {
      const notSent = contract.kind === "write" ? `; ${service}.${method} was not sent` : "";
      return fail(
        unavailable(`${service} is unavailable: the broker at ${o.broker.brokerUrl} is unreachable${notSent}`),
      );
    }
    // One id for the whole call: MdpClient reuses it on every try, workers answer a
    // repeated id from their reply cache, and Python sees the same id in _ctx.
    const payload = await codec.encode([method, asTuple([...(args as unknown[])]), { _ctx: { userId, requestId } }]);
    let replyBytes: Buffer;
    const sentAt = performance.now();
    try {
      replyBytes = await client.request(service, payload, {
        requestId,
        timeout: o.timeout,
        retries: o.retries,
        idempotent,
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      if (ctx.timing) ctx.timing.backendMs += performance.now() - sentAt;
      const code = mdpErrorCode(err);
      const detail = err instanceof Error ? err.message : String(err);
      logger.warn({ service, method, kind: call.kind, requestId, code, err: detail }, "backend call failed");
      if (code === "TIMEOUT") metrics.backendTimeouts.inc({ service, method });
      else if (code === undefined)
        logger.error({ service, method, requestId, err }, "unexpected error calling backend");
      const diagnosis = code === "TIMEOUT" ? await diagnoseTimeout(service) : undefined;
      return fail(failureOfMdpError(code, detail, { ...call, shuttingDown }, diagnosis), err);
    }

    // The MDP round trip only: encoding, decoding and checking the reply are the gateway's own time.
    if (ctx.timing) ctx.timing.backendMs += performance.now() - sentAt;
    const answer = await readReply(service, method, contract, requestId, replyBytes);
    if (answer.kind === "failure") return fail(answer.failure);
    done("ok");
    remember?.settle(requestId, service, method, answer);
    return answer.value as ResultOf<S, M>;
  }

  /**
   * A worker's reply as a call's answer: decoded, [ok, value], the result checked against
   * the contract. Anything else is a failure whose write did run (reached "yes").
   */
  async function readReply(
    service: string,
    method: string,
    contract: MethodContract,
    requestId: string,
    replyBytes: Buffer,
  ): Promise<WriteAnswer> {
    const failed = (failure: CallFailure): WriteAnswer => ({ kind: "failure", failure });
    let reply: unknown;
    try {
      reply = await codec.decode(replyBytes);
    } catch (err) {
      logger.error({ service, method, requestId, err: String(err) }, "undecodable backend reply");
      return failed(badReply(`${service} sent an undecodable reply to ${service}.${method}`));
    }
    if (!Array.isArray(reply) || reply.length !== 2 || typeof reply[0] !== "boolean") {
      logger.error({ service, method, requestId }, "backend reply is not [ok, value]");
      return failed(badReply(`${service} sent a reply to ${service}.${method} that is not [ok, value]`));
    }
    const [ok, value] = reply as [boolean, unknown];
    if (!ok) {
      const raw = typeof value === "string" ? value : String(value);
      const failure = failureOfBackendError(raw, { service, method });
      // The full text may be a Python traceback: logged here, only its last line is shown.
      if (failure.code === "INTERNAL_SERVER_ERROR")
        logger.error({ service, method, requestId, backendError: raw }, "backend internal error");
      else logger.debug({ service, method, requestId, backendError: raw }, "backend refused the call");
      return failed(failure);
    }
    const checked = contract.result.safeParse(value);
    if (!checked.success) {
      logger.error(
        { service, method, requestId, issues: checked.error.issues.slice(0, 5) },
        "backend reply does not match the contract",
      );
      const first = checked.error.issues[0];
      const where = first ? ` at ${first.path.join(".") || "(root)"}: ${first.message}` : "";
      return failed(badReply(`${service} sent an invalid result for ${service}.${method}${where}`));
    }
    return { kind: "result", value: checked.data };
  }

  function readLateReply(service: string, method: string, requestId: string, reply: Buffer): Promise<WriteAnswer> {
    const contract = getMethodContract(service, method);
    if (!contract)
      return Promise.resolve({ kind: "failure", failure: badReply(`unknown method ${service}.${method}`) });
    return readReply(service, method, contract, requestId, reply);
  }

  /** A timeout is often something quicker to name: no broker at all, or a broker without workers for it. */
  async function diagnoseTimeout(service: string): Promise<TimeoutDiagnosis> {
    if (await o.broker.recheck()) return { brokerUnreachable: o.broker.brokerUrl };
    if ((await serviceStatus(service, 500)) === "404") return { noWorkers: true };
    return undefined;
  }

  /** RFC 8 lookup: "200" when at least one live worker serves `service`. One try: a status probe must not multiply load. */
  async function serviceStatus(service: string, timeout: number): Promise<"200" | "404" | "501" | "unreachable"> {
    if (o.broker.isDown()) return "unreachable";
    try {
      return await client.mmi(service, { timeout, retries: 1 });
    } catch {
      return "unreachable";
    }
  }

  return {
    call,
    serviceStatus,
    /** MdpClient's onLateReply: a write whose caller was told its outcome is unknown got its answer after all. */
    lateReply: (late: { requestId: string; service: string; reply: Buffer }) =>
      writes ? writes.lateReply(late) : Promise.resolve(),
    /** Calls still waiting for their answer. */
    inFlight: () => inFlight,
    /** From now on CLOSED and withdrawn requests are the gateway's shutdown, and say so. */
    beginShutdown: () => {
      shuttingDown = true;
    },
    close: () => writes?.close(),
  };
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

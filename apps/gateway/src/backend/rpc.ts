import {
  type ArgsOf,
  type MethodContract,
  type MethodName,
  type ResultOf,
  type ServiceName,
  contracts,
  parseBackendError,
} from "@desk/contracts";
import { asTuple } from "@desk/pickle";
import { TRPCError } from "@trpc/server";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import { isListening } from "./probe.js";
import type { BrokerClient, Codec } from "./types.js";

/** Who is calling: forwarded to Python in kwargs._ctx for its audit trail. */
export interface CallContext {
  userId: string;
  signal?: AbortSignal;
  /**
   * A caller-chosen MDP requestId (an idempotency key, see clientOrderId): the
   * worker answers a repeat from its reply cache instead of running it again.
   * A call with the same id already in flight here is joined, not sent twice.
   */
  requestId?: string;
}

type TrpcCode = TRPCError["code"];

/** Backend "<CODE>: message" prefixes and what a client sees for each. */
const backendCodeToTrpc: Record<string, TrpcCode> = {
  NOT_FOUND: "NOT_FOUND",
  INVALID_ARGUMENT: "BAD_REQUEST",
  PERMISSION_DENIED: "FORBIDDEN",
  CONFLICT: "CONFLICT",
  UNAUTHENTICATED: "UNAUTHORIZED",
  INTERNAL: "INTERNAL_SERVER_ERROR",
};

function errorName(err: unknown): string | undefined {
  return err instanceof Error ? err.name : undefined;
}

function mdpCode(err: unknown): string | undefined {
  if (errorName(err) !== "MdpError") return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
}

/**
 * Calls one service method over the broker: pickle([method, args, {_ctx}]) out,
 * [True, result] | [False, message] back, the result checked against the
 * contract. Every failure becomes a TRPCError whose message names the service.
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

  const joinable = new Map<string, Promise<unknown>>();

  function call<S extends ServiceName, M extends MethodName<S>>(
    service: S,
    method: M,
    args: ArgsOf<S, M>,
    ctx: CallContext,
  ): Promise<ResultOf<S, M>> {
    const id = ctx.requestId;
    if (id === undefined) return callOnce(service, method, args, ctx, client.nextRequestId());
    const running = joinable.get(id);
    if (running) return running as Promise<ResultOf<S, M>>;
    const started = callOnce(service, method, args, ctx, id).finally(() => joinable.delete(id));
    joinable.set(id, started);
    return started;
  }

  async function callOnce<S extends ServiceName, M extends MethodName<S>>(
    service: S,
    method: M,
    args: ArgsOf<S, M>,
    ctx: CallContext,
    requestId: string,
  ): Promise<ResultOf<S, M>> {
    const contract = (contracts[service] as Record<string, MethodContract>)[method];
    if (!contract)
      throw new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: `Unknown method ${service}.${method}` });
    const label = `${service}.${method}`;
    // One id for the whole call: MdpClient reuses it on every try, workers answer a
    // repeated id from their reply cache, and Python sees the same id in _ctx.
    const started = performance.now();
    const done = (outcome: string) => {
      metrics.backendRequests.inc({ service, method, outcome });
      metrics.backendLatency.observe({ service, method }, (performance.now() - started) / 1000);
    };
    const fail = (outcome: string, code: TrpcCode, message: string, cause?: unknown): never => {
      done(outcome);
      metrics.backendErrors.inc({ service, method, code });
      throw new TRPCError({ code, message, ...(cause instanceof Error ? { cause } : {}) });
    };

    const payload = await codec.encode([
      method,
      asTuple([...(args as unknown[])]),
      { _ctx: { userId: ctx.userId, requestId } },
    ]);
    let replyBytes: Buffer;
    try {
      replyBytes = await client.request(service, payload, {
        requestId,
        timeout: o.timeout,
        retries: o.retries,
        // Reads may be retried freely; writes go at most once (MdpClient's default).
        idempotent: contract.kind === "read",
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      });
    } catch (err) {
      const code = mdpCode(err);
      const detail = err instanceof Error ? err.message : String(err);
      logger.warn({ service, method, requestId, code, err: detail }, "backend call failed");
      switch (code) {
        case "TIMEOUT": {
          metrics.backendTimeouts.inc({ service, method });
          // Say why, when it can be told quickly: no broker at all, or a broker without workers for it.
          const endpoint = client.stats().endpoint;
          if (endpoint.startsWith("tcp://") && !(await isListening(endpoint, 300))) {
            return fail(
              "unavailable",
              "SERVICE_UNAVAILABLE",
              `${service} is unavailable: the broker at ${endpoint} is unreachable`,
            );
          }
          if ((await serviceStatus(service, 500)) === "404") {
            return fail(
              "unavailable",
              "SERVICE_UNAVAILABLE",
              `${service} is unavailable: no worker is registered with the broker`,
            );
          }
          return fail(
            "timeout",
            "TIMEOUT",
            `${service} did not answer ${label} within ${o.retries} tries of ${o.timeout} ms`,
          );
        }
        case "WORKER_LOST":
        case "QUEUE_FULL":
        case "EXPIRED":
          return fail("unavailable", "SERVICE_UNAVAILABLE", `${service} is unavailable (${code}): ${detail}`);
        case "CLOSED":
          return fail("unavailable", "SERVICE_UNAVAILABLE", `${service} is unavailable: the gateway is shutting down`);
        case "ABORTED":
          return fail("aborted", "CLIENT_CLOSED_REQUEST", `${label} was aborted by the client`);
        case "BAD_REPLY":
        case "MALFORMED":
          return fail("bad_reply", "BAD_GATEWAY", `${service} sent a malformed reply to ${label}`);
        default:
          logger.error({ service, method, requestId, err }, "unexpected error calling backend");
          return fail("error", "INTERNAL_SERVER_ERROR", `${label} failed unexpectedly`);
      }
    }

    let reply: unknown;
    try {
      reply = await codec.decode(replyBytes);
    } catch (err) {
      logger.error({ service, method, requestId, err: String(err) }, "undecodable backend reply");
      return fail("bad_reply", "BAD_GATEWAY", `${service} sent an undecodable reply to ${label}`);
    }
    if (!Array.isArray(reply) || reply.length !== 2 || typeof reply[0] !== "boolean") {
      logger.error({ service, method, requestId }, "backend reply is not [ok, value]");
      return fail("bad_reply", "BAD_GATEWAY", `${service} sent a reply to ${label} that is not [ok, value]`);
    }
    const [ok, value] = reply as [boolean, unknown];
    if (!ok) {
      const raw = typeof value === "string" ? value : String(value);
      const parsed = parseBackendError(raw);
      const code = backendCodeToTrpc[parsed.code] ?? "INTERNAL_SERVER_ERROR";
      if (code === "INTERNAL_SERVER_ERROR") {
        // The full text may be a Python traceback: log it, show only the last line.
        logger.error({ service, method, requestId, backendError: raw }, "backend internal error");
        return fail("error", code, `${label} failed: ${parsed.message}`);
      }
      logger.debug({ service, method, requestId, backendError: raw }, "backend refused the call");
      return fail("error", code, parsed.message);
    }
    const checked = contract.result.safeParse(value);
    if (!checked.success) {
      logger.error(
        { service, method, requestId, issues: checked.error.issues.slice(0, 5) },
        "backend reply does not match the contract",
      );
      const first = checked.error.issues[0];
      const where = first ? ` at ${first.path.join(".") || "(root)"}: ${first.message}` : "";
      return fail("bad_reply", "BAD_GATEWAY", `${service} sent an invalid result for ${label}${where}`);
    }
    done("ok");
    return checked.data as ResultOf<S, M>;
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

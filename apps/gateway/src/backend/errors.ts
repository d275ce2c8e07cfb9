import { type MethodKind, parseBackendError } from "@desk/contracts";
import { TRPCError } from "@trpc/server";

/**
 * What a client sees when a backend call fails: the tRPC code (and so the HTTP
 * status), the message, and the outcome label of gateway_backend_requests_total.
 * Every failure of a call passes through one of the functions below; the
 * caller turns the answer into a TRPCError (trpcErrorOf) and counts it.
 */
export interface CallFailure {
  outcome: "timeout" | "unavailable" | "aborted" | "bad_reply" | "error" | "outcome_unknown";
  code: TRPCError["code"];
  message: string;
  /**
   * Did the request reach a worker? "no": certainly not (a write may be sent again);
   * "yes": a worker answered (an error, or a reply the gateway could not accept: a write ran);
   * "maybe": a write's outcome is unknown (`unknown` holds the ids the caller needs).
   */
  reached: "no" | "yes" | "maybe";
  unknown?: OutcomeIds;
}

/** The call as an error message needs it. */
export interface FailedCall {
  service: string;
  method: string;
  kind: MethodKind;
  requestId: string;
  /** The caller's idempotency key (instruction.execute), when it gave one. */
  clientOrderId?: string | undefined;
  /** Sent with idempotent: true: a read, or a write to a backend that deduplicates by requestId (ZMQ_DEDUPE_WRITES). */
  idempotent: boolean;
  /** The gateway is shutting down: CLOSED and withdrawn requests are its doing, not the backend's. */
  shuttingDown: boolean;
  timeout: number;
  retries: number;
}

/** What a caller needs to look up a write whose outcome is unknown (the error's `data`, see errors.ts). */
export interface OutcomeIds {
  service: string;
  method: string;
  requestId: string;
  clientOrderId?: string;
}

/** The cause of an unknown-outcome error: formatError copies its ids into the error's data. */
export class OutcomeUnknown extends Error {
  override readonly name = "OutcomeUnknown";
  constructor(
    message: string,
    readonly ids: OutcomeIds,
  ) {
    super(message);
  }
}

/** The TRPCError a client gets for `failure`. */
export function trpcErrorOf(failure: CallFailure, cause?: unknown): TRPCError {
  const reason = failure.unknown ? new OutcomeUnknown(failure.message, failure.unknown) : cause;
  return new TRPCError({
    code: failure.code,
    message: failure.message,
    ...(reason instanceof Error ? { cause: reason } : {}),
  });
}

/** Why a call that ran out of tries did so, when the gateway could tell quickly. */
export type TimeoutDiagnosis = { brokerUnreachable: string } | { noWorkers: true } | undefined;

/** The name of an MdpError's code (by name, not instanceof: one class per copy of @desk/mdp). */
export function mdpErrorCode(err: unknown): string | undefined {
  if (!(err instanceof Error) || err.name !== "MdpError") return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
}

/**
 * An MdpClient failure (MdpError code) as a client sees it.
 *
 * A write sent at most once (idempotent: false) may have run only when MdpClient says
 * OUTCOME_UNKNOWN; every other code means it never reached a worker, and its message says
 * so. A write to a deduplicating backend is retried like a read, so after TIMEOUT,
 * WORKER_LOST, BAD_REPLY or CLOSED nobody knows whether it ran: it is an unknown outcome
 * too, one that a repeat with the same clientOrderId may safely ask again.
 */
export function failureOfMdpError(
  code: string | undefined,
  detail: string,
  call: FailedCall,
  diagnosis: TimeoutDiagnosis,
): CallFailure {
  const { service } = call;
  const label = `${service}.${call.method}`;
  const write = call.kind === "write";
  // A retried write that timed out with no worker registered was waiting in the broker's queue,
  // withdrawn at the deadline: "unavailable" says more than "unknown" (and a repeat is safe anyway).
  const noWorkers = code === "TIMEOUT" && diagnosis !== undefined && "noWorkers" in diagnosis;
  if (code === "OUTCOME_UNKNOWN" || (write && call.idempotent && maybeRanCodes.has(code ?? "") && !noWorkers)) {
    return outcomeUnknown(call, code === "CLOSED" || call.shuttingDown ? "before the gateway shut down" : undefined);
  }
  // Only a write sent at most once is certain not to have run when MdpClient says so.
  const notRun = write && !call.idempotent ? "; it was not executed" : "";
  switch (code) {
    case "TIMEOUT":
      if (diagnosis && "brokerUnreachable" in diagnosis)
        return unavailable(
          `${service} is unavailable: the broker at ${diagnosis.brokerUnreachable} is unreachable${notRun}`,
        );
      if (diagnosis && "noWorkers" in diagnosis)
        return unavailable(`${service} is unavailable: no worker is registered with the broker${notRun}`);
      // A write sent at most once gets TIMEOUT only when it never left: no broker connection for its whole budget.
      if (write) return unavailable(`${service} is unavailable: no connection to the broker, ${label} was never sent`);
      return {
        outcome: "timeout",
        code: "TIMEOUT",
        message: `${service} did not answer ${label} within ${call.retries} tries of ${call.timeout} ms`,
        reached: "no",
      };
    case "EXPIRED":
    case "CLOSED":
      // EXPIRED is certain for any kind: the broker never gave it to a worker.
      if (call.shuttingDown || code === "CLOSED")
        return unavailable(
          `${service} is unavailable: the gateway is shutting down${write ? "; it was not executed" : ""}`,
        );
      return unavailable(
        `${service} is unavailable (${code}): ${detail}${write && !/not executed/.test(detail) ? "; it was not executed" : ""}`,
      );
    case "WORKER_LOST":
    case "QUEUE_FULL":
      return unavailable(`${service} is unavailable (${code}): ${detail}${notRun}`);
    case "ABORTED":
      return {
        outcome: "aborted",
        code: "CLIENT_CLOSED_REQUEST",
        message: `${label} was aborted by the client`,
        reached: "no",
      };
    case "BAD_REPLY":
    case "MALFORMED":
      return {
        outcome: "bad_reply",
        code: "BAD_GATEWAY",
        message: `${service} sent a malformed reply to ${label}`,
        reached: "no",
      };
    default:
      return {
        outcome: "error",
        code: "INTERNAL_SERVER_ERROR",
        message: `${label} failed unexpectedly`,
        reached: "no",
      };
  }
}

/** For a write retried like a read (a deduplicating backend), these leave open whether it ran. */
const maybeRanCodes: ReadonlySet<string> = new Set(["TIMEOUT", "WORKER_LOST", "BAD_REPLY", "CLOSED"]);

/**
 * A write that may have run: 504 with the ids the caller needs to check before it sends
 * the write again. A UI should say "check before you resend", not "retry".
 */
export function outcomeUnknown(call: FailedCall, when?: string): CallFailure {
  const label = `${call.service}.${call.method}`;
  const { clientOrderId } = call;
  const ids =
    clientOrderId === undefined
      ? `requestId ${call.requestId}`
      : `clientOrderId ${clientOrderId}, requestId ${call.requestId}`;
  const repeat =
    clientOrderId === undefined
      ? ""
      : call.idempotent
        ? "; a repeat with the same clientOrderId is answered by the trading system's reply cache"
        : "; a repeat with the same clientOrderId gets this answer (or the result, once the gateway learns it) and is not sent again";
  return {
    outcome: "outcome_unknown",
    code: "GATEWAY_TIMEOUT",
    message: `Outcome unknown: ${label} reached the trading system and no answer came back${when ? ` ${when}` : ""}; it may have been executed. Check before you send it again (${ids})${repeat}`,
    reached: "maybe",
    unknown: {
      service: call.service,
      method: call.method,
      requestId: call.requestId,
      ...(clientOrderId === undefined ? {} : { clientOrderId }),
    },
  };
}

/** Backend "<CODE>: message" prefixes and what a client sees for each. */
const backendCodeToTrpc: Record<string, TRPCError["code"]> = {
  NOT_FOUND: "NOT_FOUND",
  INVALID_ARGUMENT: "BAD_REQUEST",
  PERMISSION_DENIED: "FORBIDDEN",
  CONFLICT: "CONFLICT",
  UNAUTHENTICATED: "UNAUTHORIZED",
  INTERNAL: "INTERNAL_SERVER_ERROR",
};

/**
 * A worker's [False, message] as a client sees it: its own message for a known
 * code, and for anything else (a Python traceback) only the last line.
 */
export function failureOfBackendError(raw: string, call: Pick<FailedCall, "service" | "method">): CallFailure {
  const parsed = parseBackendError(raw);
  const code = backendCodeToTrpc[parsed.code] ?? "INTERNAL_SERVER_ERROR";
  const message =
    code === "INTERNAL_SERVER_ERROR" ? `${call.service}.${call.method} failed: ${parsed.message}` : parsed.message;
  return { outcome: "error", code, message, reached: "yes" };
}

/** A reply the gateway cannot accept (undecodable, not [ok, value], against the contract): a write did run. */
export function badReply(message: string): CallFailure {
  return { outcome: "bad_reply", code: "BAD_GATEWAY", message, reached: "yes" };
}

export function unavailable(message: string): CallFailure {
  return { outcome: "unavailable", code: "SERVICE_UNAVAILABLE", message, reached: "no" };
}

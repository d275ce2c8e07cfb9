import { type MethodKind, parseBackendError } from "@desk/contracts";
import type { TRPCError } from "@trpc/server";

/**
 * What a client sees when a backend call fails: the tRPC code (and so the HTTP
 * status), the message, and the outcome label of gateway_backend_requests_total.
 * Every failure of a call passes through one of the two functions below; the
 * caller turns the answer into a TRPCError and counts it.
 */
export interface CallFailure {
  outcome: "timeout" | "unavailable" | "aborted" | "bad_reply" | "error";
  code: TRPCError["code"];
  message: string;
}

/** The call as an error message needs it. */
export interface FailedCall {
  service: string;
  method: string;
  kind: MethodKind;
  requestId: string;
  timeout: number;
  retries: number;
}

/** Why a call that ran out of tries did so, when the gateway could tell quickly. */
export type TimeoutDiagnosis = { brokerUnreachable: string } | { noWorkers: true } | undefined;

/** The name of an MdpError's code (by name, not instanceof: one class per copy of @desk/mdp). */
export function mdpErrorCode(err: unknown): string | undefined {
  if (!(err instanceof Error) || err.name !== "MdpError") return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
}

/** An MdpClient failure (MdpError code) as a client sees it. */
export function failureOfMdpError(
  code: string | undefined,
  detail: string,
  call: FailedCall,
  diagnosis: TimeoutDiagnosis,
): CallFailure {
  const { service } = call;
  const label = `${service}.${call.method}`;
  switch (code) {
    case "TIMEOUT":
      if (diagnosis && "brokerUnreachable" in diagnosis)
        return unavailable(`${service} is unavailable: the broker at ${diagnosis.brokerUnreachable} is unreachable`);
      if (diagnosis && "noWorkers" in diagnosis)
        return unavailable(`${service} is unavailable: no worker is registered with the broker`);
      return {
        outcome: "timeout",
        code: "TIMEOUT",
        message: `${service} did not answer ${label} within ${call.retries} tries of ${call.timeout} ms`,
      };
    case "WORKER_LOST":
    case "QUEUE_FULL":
    case "EXPIRED":
      return unavailable(`${service} is unavailable (${code}): ${detail}`);
    case "CLOSED":
      return unavailable(`${service} is unavailable: the gateway is shutting down`);
    case "ABORTED":
      return { outcome: "aborted", code: "CLIENT_CLOSED_REQUEST", message: `${label} was aborted by the client` };
    case "BAD_REPLY":
    case "MALFORMED":
      return { outcome: "bad_reply", code: "BAD_GATEWAY", message: `${service} sent a malformed reply to ${label}` };
    default:
      return { outcome: "error", code: "INTERNAL_SERVER_ERROR", message: `${label} failed unexpectedly` };
  }
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
  return { outcome: "error", code, message };
}

function unavailable(message: string): CallFailure {
  return { outcome: "unavailable", code: "SERVICE_UNAVAILABLE", message };
}

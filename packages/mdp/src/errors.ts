export type MdpErrorCode =
  | "TIMEOUT"
  | "WORKER_LOST"
  | "QUEUE_FULL"
  | "EXPIRED"
  | "CLOSED"
  | "ABORTED"
  | "BAD_REPLY"
  | "MALFORMED"
  | "OUTCOME_UNKNOWN";

/**
 * Every failure of an MDP request surfaces as one of these, with a code callers can switch on.
 *
 * For a request sent with `idempotent: false` (the default: a write), OUTCOME_UNKNOWN is
 * the only code that means "it may have been executed": every other code means it
 * certainly never reached a worker, so sending it again is safe.
 */
export class MdpError extends Error {
  override readonly name = "MdpError";
  readonly code: MdpErrorCode;
  service?: string;
  requestId?: string;
  tries?: number;

  constructor(code: MdpErrorCode, message: string, details?: { service?: string; requestId?: string; tries?: number }) {
    super(message);
    this.code = code;
    if (details?.service !== undefined) this.service = details.service;
    if (details?.requestId !== undefined) this.requestId = details.requestId;
    if (details?.tries !== undefined) this.tries = details.tries;
  }
}

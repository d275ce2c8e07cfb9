/**
 * Errors a UI can switch on. tRPC gives a TRPCClientError whose `data.code` is a
 * JSON-RPC-ish string ("UNAUTHORIZED", "SERVICE_UNAVAILABLE", ...) and whose
 * `data.httpStatus` is a number; screens want a small closed set of cases instead.
 */
export type GatewayErrorKind =
  | "unauthorized"
  | "forbidden"
  | "backend_unavailable"
  | "timeout"
  /** A write reached the trading system and no answer came back: it may have run. Check before resending. */
  | "outcome_unknown"
  | "validation"
  | "not_found"
  | "rate_limited"
  | "unknown";

export interface GatewayErrorInit {
  kind: GatewayErrorKind;
  message: string;
  /** The tRPC error code, e.g. "UNAUTHORIZED"; undefined when no answer came back. */
  code?: string | undefined;
  httpStatus?: number | undefined;
  /** The procedure path, when tRPC reported it. */
  path?: string | undefined;
  /** The server's `data` object as sent (e.g. zod issues), for display or logging. */
  data?: unknown;
  /** outcome_unknown: the ids to look the write up by before sending it again. */
  unknownOutcome?: UnknownOutcome | undefined;
  cause?: unknown;
}

/** What a caller needs to check a write whose outcome is unknown. */
export interface UnknownOutcome {
  /** The MDP requestId the trading system saw (kwargs._ctx.requestId). */
  requestId: string;
  /** The caller's own idempotency key, when it sent one: a repeat with it gets the same answer, never a second order. */
  clientOrderId: string | undefined;
  service: string | undefined;
  method: string | undefined;
}

export class GatewayError extends Error {
  override readonly name = "GatewayError";
  readonly kind: GatewayErrorKind;
  readonly code: string | undefined;
  readonly httpStatus: number | undefined;
  readonly path: string | undefined;
  readonly data: unknown;
  /** Set for kind "outcome_unknown". */
  readonly unknownOutcome: UnknownOutcome | undefined;

  constructor(init: GatewayErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.kind = init.kind;
    this.code = init.code;
    this.httpStatus = init.httpStatus;
    this.path = init.path;
    this.data = init.data;
    this.unknownOutcome = init.unknownOutcome;
  }

  /**
   * Worth trying again later without changing anything (show "retry", not "fix your input").
   * Never an unknown outcome: the write may have run; check first (a repeat with the same
   * clientOrderId is safe: it gets the same answer).
   */
  get retryable(): boolean {
    return this.kind === "backend_unavailable" || this.kind === "timeout" || this.kind === "rate_limited";
  }
}

const kindByCode: Readonly<Record<string, GatewayErrorKind>> = {
  UNAUTHORIZED: "unauthorized",
  FORBIDDEN: "forbidden",
  SERVICE_UNAVAILABLE: "backend_unavailable",
  BAD_GATEWAY: "backend_unavailable",
  CLIENT_CLOSED_REQUEST: "backend_unavailable",
  TIMEOUT: "timeout",
  GATEWAY_TIMEOUT: "timeout",
  BAD_REQUEST: "validation",
  PARSE_ERROR: "validation",
  UNPROCESSABLE_CONTENT: "validation",
  PAYLOAD_TOO_LARGE: "validation",
  UNSUPPORTED_MEDIA_TYPE: "validation",
  METHOD_NOT_SUPPORTED: "validation",
  NOT_FOUND: "not_found",
  TOO_MANY_REQUESTS: "rate_limited",
};

const kindByStatus: Readonly<Record<number, GatewayErrorKind>> = {
  400: "validation",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  408: "timeout",
  413: "validation",
  415: "validation",
  422: "validation",
  429: "rate_limited",
  502: "backend_unavailable",
  503: "backend_unavailable",
  504: "timeout",
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

/**
 * Any thrown value -> GatewayError. Reads TRPCClientError structurally (name + data)
 * rather than with instanceof, because an app can end up with the ESM and the CJS copy
 * of @trpc/client side by side and instanceof then fails across them.
 *
 * A TRPCClientError without `data` means no tRPC answer came back at all (fetch failed,
 * socket closed): the UI should treat that as "the service is unavailable, retry".
 */
export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  if (!isRecord(err)) return new GatewayError({ kind: "unknown", message: String(err), cause: err });

  const message = typeof err.message === "string" ? err.message : "Unknown error";
  const data = isRecord(err.data) ? err.data : undefined;
  const code = typeof data?.code === "string" ? data.code : undefined;
  const httpStatus = typeof data?.httpStatus === "number" ? data.httpStatus : undefined;
  const path = typeof data?.path === "string" ? data.path : undefined;

  const unknownOutcome = unknownOutcomeOf(data);
  let kind: GatewayErrorKind = "unknown";
  if (unknownOutcome) kind = "outcome_unknown";
  else if (code !== undefined && kindByCode[code]) kind = kindByCode[code];
  else if (httpStatus !== undefined && kindByStatus[httpStatus]) kind = kindByStatus[httpStatus];
  else if (err.name === "TRPCClientError" && data === undefined) kind = "backend_unavailable";
  else if (err.name === "AbortError" || err.name === "TimeoutError") kind = "timeout";

  return new GatewayError({ kind, message, code, httpStatus, path, data, unknownOutcome, cause: err });
}

/** The gateway marks a write that may have run with data.outcome "unknown" and its ids (tRPC and REST alike). */
function unknownOutcomeOf(data: Record<string, unknown> | undefined): UnknownOutcome | undefined {
  if (data?.outcome !== "unknown" || typeof data.requestId !== "string") return undefined;
  const text = (value: unknown) => (typeof value === "string" ? value : undefined);
  return {
    requestId: data.requestId,
    clientOrderId: text(data.clientOrderId),
    service: text(data.service),
    method: text(data.method),
  };
}

/** Narrowing helper for catch blocks: `if (isGatewayError(e, "unauthorized")) relogin()`. */
export function isGatewayError(err: unknown, kind?: GatewayErrorKind): err is GatewayError {
  return err instanceof GatewayError && (kind === undefined || err.kind === kind);
}

import { type GatewayError, toGatewayError } from "@desk/sdk";

/** An error as the console shows it: a headline, what to do, and the ids an operator needs. */
export interface ReadableError {
  kind: GatewayError["kind"];
  /** One line, e.g. "Not allowed: your role (viewer) lacks the instruction:execute permission". */
  title: string;
  /** The gateway's own words when they add something, or a hint. */
  detail: string | null;
  /** The permission the gateway said was missing (403). */
  missingPermission: string | null;
  /** The backend service the gateway said was down (503). */
  service: string | null;
  /** Worth retrying without changing anything. */
  retryable: boolean;
}

const PERMISSION = /lacks the ([a-z]+:[a-z]+|admin) permission/;
const ROLE = /Role (\w+) lacks/;
const ACCOUNTS = /No access to account\(s\): (.+)$/;
const SERVICE = /\b([a-z]+_service) is unavailable(?:[^:]*): ?(.*)$/;

/**
 * Any thrown value -> what to show. 403 names the missing permission (or the account),
 * 503 the service that is down; a call that got no answer at all says the gateway is
 * unreachable. Pure: takes the error, returns text.
 */
export function describeError(err: unknown): ReadableError {
  const e = toGatewayError(err);
  const message = e.message.trim();
  const base = { kind: e.kind, missingPermission: null, service: null, retryable: e.retryable };
  switch (e.kind) {
    case "forbidden": {
      const permission = PERMISSION.exec(message)?.[1] ?? null;
      if (permission) {
        const role = ROLE.exec(message)?.[1];
        return {
          ...base,
          title: `Not allowed: ${role ? `your role (${role})` : "you"} lacks the ${permission} permission`,
          detail: null,
          missingPermission: permission,
        };
      }
      const accounts = ACCOUNTS.exec(message)?.[1];
      if (accounts) return { ...base, title: `Not allowed: no access to ${accounts}`, detail: null };
      return { ...base, title: "Not allowed", detail: message || null };
    }
    case "backend_unavailable": {
      const match = SERVICE.exec(message);
      if (match) {
        return {
          ...base,
          title: `${match[1]} is unavailable`,
          detail: match[2] ? match[2] : null,
          service: match[1] ?? null,
        };
      }
      if (e.code === undefined && e.httpStatus === undefined) {
        return { ...base, title: "The gateway is unreachable", detail: "Check the connection; retrying is safe." };
      }
      return { ...base, title: "Service unavailable", detail: message || null };
    }
    case "unauthorized":
      return { ...base, title: "Your session has ended: log in again", detail: message || null };
    case "timeout":
      return { ...base, title: "The trading system did not answer in time", detail: message || null };
    case "outcome_unknown": {
      // A write reached the trading system and no answer came back: never "retry", always "check".
      const ids = e.unknownOutcome;
      const named = ids
        ? ids.clientOrderId === undefined
          ? `requestId ${ids.requestId}`
          : `clientOrderId ${ids.clientOrderId}, requestId ${ids.requestId}`
        : null;
      return {
        ...base,
        title: "Outcome unknown: it may have been executed",
        detail: `Check before you send it again${named ? ` (${named})` : ""}`,
      };
    }
    case "rate_limited":
      return { ...base, title: "Too many requests: wait a moment", detail: message || null };
    case "validation":
      return { ...base, title: message || "Invalid input", detail: null };
    case "not_found":
      return { ...base, title: message || "Not found", detail: null };
    default:
      if (e.code === "CONFLICT") return { ...base, title: message || "Conflict", detail: null };
      return { ...base, title: message || "Something went wrong", detail: e.code ? `code ${e.code}` : null };
  }
}

/** One line for a banner or a table cell. */
export function errorLine(err: unknown): string {
  const r = describeError(err);
  return r.detail ? `${r.title} — ${r.detail}` : r.title;
}

/** The login form's wording: there an UNAUTHORIZED answer means the credentials, not a session. */
export function loginErrorLine(err: unknown): string {
  const r = describeError(err);
  if (r.kind === "unauthorized") return "Wrong username or password";
  return r.detail ? `${r.title} — ${r.detail}` : r.title;
}

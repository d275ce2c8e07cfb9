import type { SessionTokens } from "@desk/sdk";
import type { LoginResult, Permission, Role } from "./types";

/** The token pair the SDK's session renews (access token for minutes, refresh token until the session ends). */
export type Tokens = SessionTokens & { receivedAt: number };

/**
 * Who is signed in, as kept in sessionStorage (per tab; gone when the tab closes). The
 * tokens are rewritten at every refresh, so a reload carries on with the current pair.
 */
export interface Session {
  tokens: Tokens;
  /** When the session ends (its refresh token's end; access tokens are renewed until then), ms since the epoch. */
  expiresAt: number;
  userId: string;
  username: string;
  displayName: string;
  role: Role;
  permissions: Permission[];
}

export const SESSION_KEY = "desk.console.session";

export function sessionFromLogin(result: LoginResult, now: number = Date.now()): Session {
  return {
    tokens: {
      token: result.token,
      tokenType: result.tokenType,
      expiresAt: result.expiresAt,
      expiresIn: result.expiresIn,
      refreshToken: result.refreshToken,
      refreshExpiresAt: result.refreshExpiresAt,
      receivedAt: now,
    },
    expiresAt: Date.parse(result.refreshExpiresAt),
    userId: result.user.id,
    username: result.user.username,
    displayName: result.user.displayName,
    role: result.user.role,
    permissions: [...result.permissions],
  };
}

/** The session with a renewed token pair (the user and the session's end stay). */
export function withTokens(session: Session, tokens: Tokens): Session {
  return { ...session, tokens };
}

const ROLES: readonly string[] = ["admin", "trader", "viewer"];

function parseTokens(value: unknown): Tokens | null {
  if (typeof value !== "object" || value === null) return null;
  const t = value as Record<string, unknown>;
  const text = (k: string) => typeof t[k] === "string" && (t[k] as string).length > 0;
  const number = (k: string) => typeof t[k] === "number" && Number.isFinite(t[k]);
  if (!text("token") || !text("refreshToken") || !text("expiresAt") || !text("refreshExpiresAt")) return null;
  if (!number("expiresIn") || !number("receivedAt")) return null;
  return {
    token: t.token as string,
    tokenType: "Bearer",
    expiresAt: t.expiresAt as string,
    expiresIn: t.expiresIn as number,
    refreshToken: t.refreshToken as string,
    refreshExpiresAt: t.refreshExpiresAt as string,
    receivedAt: t.receivedAt as number,
  };
}

/**
 * Reads a stored session back, refusing anything malformed (storage is editable by
 * anyone at the keyboard; the gateway checks the token anyway, this only avoids a
 * half-rendered console).
 */
export function parseStoredSession(raw: string | null): Session | null {
  if (!raw) return null;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const v = value as Record<string, unknown>;
  const nonEmpty = (k: string) => typeof v[k] === "string" && (v[k] as string).length > 0;
  const tokens = parseTokens(v.tokens);
  if (!tokens || !nonEmpty("userId") || !nonEmpty("username")) return null;
  if (typeof v.expiresAt !== "number" || !Number.isFinite(v.expiresAt)) return null;
  if (typeof v.role !== "string" || !ROLES.includes(v.role)) return null;
  if (!Array.isArray(v.permissions) || !v.permissions.every((p) => typeof p === "string")) return null;
  return {
    tokens,
    expiresAt: v.expiresAt,
    userId: v.userId as string,
    username: v.username as string,
    displayName: typeof v.displayName === "string" ? v.displayName : (v.username as string),
    role: v.role as Role,
    permissions: v.permissions as Permission[],
  };
}

export function isExpired(session: Session, now: number): boolean {
  return session.expiresAt <= now;
}

/** Why the console is back at the login form. */
export type SignedOutReason = "logout" | "expired" | "rejected";

export function signedOutMessage(reason: SignedOutReason, at: Date | null = null): string | null {
  switch (reason) {
    case "logout":
      return null;
    case "expired":
      return `Your session expired${at ? ` at ${at.toLocaleTimeString("en-GB", { hour12: false })}` : ""}. Log in again to continue.`;
    case "rejected":
      return "The gateway no longer accepts your session (signed out elsewhere, or your user changed). Log in again.";
  }
}

/** Timers cannot be longer than 2^31-1 ms; an 8-hour session is fine, a longer one is re-armed. */
export function expiryDelay(session: Session, now: number): number {
  return Math.min(Math.max(0, session.expiresAt - now), 2 ** 31 - 1);
}

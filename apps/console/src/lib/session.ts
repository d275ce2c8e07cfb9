import type { LoginResult, Permission, Role } from "./types";

/** Who is signed in, as kept in sessionStorage (per tab; gone when the tab closes). */
export interface Session {
  token: string;
  /** Token expiry, ms since the epoch. */
  expiresAt: number;
  userId: string;
  username: string;
  displayName: string;
  role: Role;
  permissions: Permission[];
}

export const SESSION_KEY = "desk.console.session";

export function sessionFromLogin(result: LoginResult): Session {
  return {
    token: result.token,
    expiresAt: Date.parse(result.expiresAt),
    userId: result.user.id,
    username: result.user.username,
    displayName: result.user.displayName,
    role: result.user.role,
    permissions: [...result.permissions],
  };
}

const ROLES: readonly string[] = ["admin", "trader", "viewer"];

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
  if (!nonEmpty("token") || !nonEmpty("userId") || !nonEmpty("username")) return null;
  if (typeof v.expiresAt !== "number" || !Number.isFinite(v.expiresAt)) return null;
  if (typeof v.role !== "string" || !ROLES.includes(v.role)) return null;
  if (!Array.isArray(v.permissions) || !v.permissions.every((p) => typeof p === "string")) return null;
  return {
    token: v.token as string,
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

/** Timers cannot be longer than 2^31-1 ms; an 8-hour token is fine, a longer one is re-armed. */
export function expiryDelay(session: Session, now: number): number {
  return Math.min(Math.max(0, session.expiresAt - now), 2 ** 31 - 1);
}

import { randomBytes } from "node:crypto";
import { LRUCache } from "lru-cache";

/**
 * One login: what its tokens are checked against. Its access tokens carry its id
 * (sid); its refresh tokens carry the id and a generation, and only the current
 * generation may be exchanged (rotation). Presenting an older one means two parties
 * hold the chain, one of them a thief: the whole session is revoked.
 */
export interface Session {
  readonly sessionId: string;
  readonly userId: string;
  readonly username: string;
  readonly role: string;
  /** The user's token version at login (the backend's; undefined when it keeps none). */
  readonly tokenVersion: number | undefined;
  /** The generation of the one refresh token that may be exchanged next. */
  generation: number;
  /** When the session ends whatever happens, ms since the epoch. */
  readonly expiresAt: number;
  /** Why it was revoked; kept until expiresAt so its tokens keep being refused with the reason. */
  revoked: string | undefined;
}

export type Rotation =
  | { ok: true; session: Session }
  | { ok: false; why: "unknown" | "expired" | "revoked" | "reused"; session?: Session };

/** Why a session ended, as the caller is told. */
export const REVOKED = {
  logout: "logged out",
  reuse: "its refresh token was used twice (a copy may have been stolen); log in again",
  password: "the password was changed",
  user: "the user is unknown or disabled",
} as const;

/**
 * The sessions of this gateway process, in memory: bounded (the least recently used
 * is forgotten first, and then its refresh tokens stop working) and each one kept
 * until its own end. Listeners hear a revocation at once, so a logout ends the
 * session's running subscriptions on the spot.
 *
 * One process is the source of truth for its own sessions: several replicas need a
 * shared store with these operations (or a load balancer that keeps a client on one
 * replica). The user's token version, which a password change moves, comes from the
 * backend and is the same for every replica (middleware/authenticate.ts).
 */
export function createSessions(o: {
  ttlMs: number;
  maxEntries: number;
  /** The clock, ms since the epoch (tests move it). */
  now?: () => number;
}) {
  const now = o.now ?? Date.now;
  const sessions = new LRUCache<string, Session>({
    max: Math.max(1, o.maxEntries),
    ttlAutopurge: false,
    perf: { now },
    ttlResolution: 0,
    dispose: (session, _id, reason) => {
      if (reason === "evict" || reason === "expire" || reason === "delete") forget(session);
    },
  });
  const byUser = new Map<string, Set<string>>();
  const listeners = new Map<string, Set<(why: string) => void>>();

  function forget(session: Session): void {
    const ids = byUser.get(session.userId);
    ids?.delete(session.sessionId);
    if (ids?.size === 0) byUser.delete(session.userId);
  }

  function create(user: { userId: string; username: string; role: string; tokenVersion: number | undefined }): Session {
    const session: Session = {
      sessionId: randomBytes(16).toString("base64url"),
      ...user,
      generation: 0,
      expiresAt: now() + o.ttlMs,
      revoked: undefined,
    };
    sessions.set(session.sessionId, session, { ttl: o.ttlMs });
    const ids = byUser.get(user.userId) ?? new Set<string>();
    byUser.set(user.userId, ids);
    ids.add(session.sessionId);
    return session;
  }

  /** The session, if this process knows it and it has not ended (revoked ones are returned: check .revoked). */
  function get(sessionId: string): Session | undefined {
    return sessions.get(sessionId);
  }

  /** Exchanges refresh token `generation` of a session for the next one, or says why not. */
  function rotate(sessionId: string, generation: number): Rotation {
    const session = sessions.get(sessionId);
    if (!session) return { ok: false, why: "unknown" };
    if (session.revoked !== undefined) return { ok: false, why: "revoked", session };
    if (session.expiresAt <= now()) return { ok: false, why: "expired", session };
    if (generation !== session.generation) {
      revoke(sessionId, REVOKED.reuse);
      return { ok: false, why: "reused", session };
    }
    session.generation++;
    return { ok: true, session };
  }

  function revoke(sessionId: string, why: string): boolean {
    const session = sessions.get(sessionId);
    if (!session || session.revoked !== undefined) return false;
    session.revoked = why;
    for (const listener of [...(listeners.get(sessionId) ?? [])]) listener(why);
    listeners.delete(sessionId);
    return true;
  }

  /** Revokes every session of a user (a password change, a disabled user); returns how many. */
  function revokeUser(userId: string, why: string): number {
    let count = 0;
    for (const id of [...(byUser.get(userId) ?? [])]) if (revoke(id, why)) count++;
    return count;
  }

  /** Calls `onRevoked` once when the session is revoked; returns the way to stop listening. */
  function onRevoked(sessionId: string, listener: (why: string) => void): () => void {
    const set = listeners.get(sessionId) ?? new Set<(why: string) => void>();
    listeners.set(sessionId, set);
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && listeners.get(sessionId) === set) listeners.delete(sessionId);
    };
  }

  return { create, get, rotate, revoke, revokeUser, onRevoked, size: () => sessions.size };
}

export type Sessions = ReturnType<typeof createSessions>;

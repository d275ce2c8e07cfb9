import type { UserPermissions } from "@desk/contracts";
import type { Logger } from "../logger.js";
import type { PermissionCache } from "./permissions.js";
import { REVOKED, type Sessions } from "./sessions.js";

/** What a token says about where it came from: enough to tell whether it was revoked since. */
export interface TokenOrigin {
  userId: string;
  sessionId: string | undefined;
  tokenVersion: number | undefined;
}

/**
 * Why a token of `origin` no longer counts, or undefined while it does. Two sources:
 * the session store of this process (logout, a reused refresh token), and the
 * user's token version from the backend (a password change, wherever it was made:
 * every replica reads the same number). A backend that keeps no version leaves the
 * second check out; a session this process does not know (it restarted, or another
 * replica issued the token) is not a revocation: the token lives out its few minutes.
 */
export function whyRevoked(
  origin: TokenOrigin,
  sessions: Sessions,
  current: Pick<UserPermissions, "tokenVersion"> | undefined,
): string | undefined {
  if (origin.sessionId !== undefined) {
    const revoked = sessions.get(origin.sessionId)?.revoked;
    if (revoked !== undefined) return revoked;
  }
  const version = current?.tokenVersion;
  if (version !== undefined && version !== null && version !== origin.tokenVersion) return REVOKED.password;
  return undefined;
}

/**
 * Ends what outlives a single check: running subscriptions. A revocation in this
 * process (logout, reuse, a password change taken here) reaches them at once; one
 * made elsewhere (a password change through another replica) is found by asking the
 * backend for the watched users' token versions every `intervalMs`, the same window
 * within which a call with the token is refused.
 */
export function createRevocationWatch(o: {
  sessions: Sessions;
  permissions: PermissionCache;
  intervalMs: number;
  logger: Logger;
}) {
  const { sessions, permissions, logger } = o;
  interface Watcher {
    origin: TokenOrigin;
    onRevoked: (why: string) => void;
    unlisten?: (() => void) | undefined;
  }
  const byUser = new Map<string, Set<Watcher>>();
  let timer: NodeJS.Timeout | undefined;
  let checking = false;

  function end(watcher: Watcher, why: string): void {
    stop(watcher);
    watcher.onRevoked(why);
  }

  function stop(watcher: Watcher): void {
    watcher.unlisten?.();
    const set = byUser.get(watcher.origin.userId);
    set?.delete(watcher);
    if (set?.size === 0) byUser.delete(watcher.origin.userId);
    if (byUser.size === 0 && timer) {
      clearInterval(timer);
      timer = undefined;
    }
  }

  /** Asks the backend about each watched user (one lookup per user) and ends what was revoked. */
  async function check(userIds: Iterable<string> = [...byUser.keys()]): Promise<void> {
    for (const userId of userIds) {
      const watchers = byUser.get(userId);
      if (!watchers) continue;
      let current: UserPermissions;
      try {
        current = await permissions.refresh(userId);
      } catch (err) {
        // An unknown user has lost every right; a backend that does not answer has revoked nothing.
        const code = (err as { code?: unknown }).code;
        if (code === "NOT_FOUND" || code === "UNAUTHORIZED") {
          for (const watcher of [...watchers]) end(watcher, REVOKED.user);
        } else logger.debug({ userId, err: String(err) }, "revocation check: permissions unavailable");
        continue;
      }
      for (const watcher of [...watchers]) {
        const why = whyRevoked(watcher.origin, sessions, current);
        if (why !== undefined) end(watcher, why);
      }
    }
  }

  function poll(): void {
    if (checking) return;
    checking = true;
    check().finally(() => {
      checking = false;
    });
  }

  /**
   * Calls `onRevoked(why)` once if the token of `origin` is revoked while watched;
   * returns the way to stop watching (call it when the subscription ends).
   */
  function watch(origin: TokenOrigin, onRevoked: (why: string) => void): () => void {
    const watcher: Watcher = { origin, onRevoked };
    const set = byUser.get(origin.userId) ?? new Set<Watcher>();
    byUser.set(origin.userId, set);
    set.add(watcher);
    if (origin.sessionId !== undefined)
      watcher.unlisten = sessions.onRevoked(origin.sessionId, (why) => end(watcher, why));
    timer ??= setInterval(poll, o.intervalMs);
    timer.unref();
    return () => stop(watcher);
  }

  function close(): void {
    if (timer) clearInterval(timer);
    timer = undefined;
    byUser.clear();
  }

  return { watch, check, close, watched: () => byUser.size };
}

export type RevocationWatch = ReturnType<typeof createRevocationWatch>;

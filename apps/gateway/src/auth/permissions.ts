import type { UserPermissions } from "@desk/contracts";
import { LRUCache } from "lru-cache";

/**
 * Per-user permission lookups (auth_service.get_user_permissions), reused for a
 * short while: every call needs them, and a role change should still take
 * effect within `ttlMs`. Concurrent lookups for one user share one backend call
 * (lru-cache's fetch); a failed lookup is not remembered. Bounded to `maxEntries`
 * users, least recently used forgotten first.
 */
export function createPermissionCache(o: {
  ttlMs: number;
  fetch: (userId: string) => Promise<UserPermissions>;
  maxEntries?: number;
  /** The clock, ms (tests move it); performance.now by default. */
  now?: () => number;
}) {
  const cache = new LRUCache<string, UserPermissions>({
    max: o.maxEntries ?? 10_000,
    ttl: o.ttlMs,
    // Checked on every read (no cached clock), so an expiry is exact, and no timer is armed per lookup.
    ttlResolution: 0,
    ...(o.now ? { perf: { now: o.now } } : {}),
    fetchMethod: (userId) => o.fetch(userId),
    // A login's invalidate() during a lookup must not fail the calls waiting on it.
    ignoreFetchAbort: true,
  });

  async function get(userId: string): Promise<UserPermissions> {
    const value = await cache.fetch(userId);
    if (value === undefined) throw new Error(`no permissions for ${userId}`);
    return value;
  }

  /** A fresh lookup (the revocation watch's), which also renews the cached entry for every other call. */
  async function refresh(userId: string): Promise<UserPermissions> {
    const value = await cache.fetch(userId, { forceRefresh: true });
    if (value === undefined) throw new Error(`no permissions for ${userId}`);
    return value;
  }

  function invalidate(userId: string): void {
    cache.delete(userId);
  }

  return { get, refresh, invalidate };
}

export type PermissionCache = ReturnType<typeof createPermissionCache>;

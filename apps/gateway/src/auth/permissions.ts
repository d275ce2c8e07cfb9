import type { Permission, UserPermissions } from "@desk/contracts";

/**
 * Per-user permission lookups (auth_service.get_user_permissions), reused for a
 * short while: every call needs them, and a role change should still take
 * effect within seconds. Concurrent lookups for one user share one backend call.
 */
export function createPermissionCache(o: {
  ttlMs: number;
  fetch: (userId: string) => Promise<UserPermissions>;
  maxEntries?: number;
}) {
  const cache = new Map<string, { value: UserPermissions; expiresAt: number }>();
  const pending = new Map<string, Promise<UserPermissions>>();
  const maxEntries = o.maxEntries ?? 10_000;

  async function get(userId: string): Promise<UserPermissions> {
    const hit = cache.get(userId);
    if (hit && hit.expiresAt > Date.now()) return hit.value;
    const inFlight = pending.get(userId);
    if (inFlight) return inFlight;
    const lookup = o
      .fetch(userId)
      .then((value) => {
        if (cache.size >= maxEntries) cache.clear();
        cache.set(userId, { value, expiresAt: Date.now() + o.ttlMs });
        return value;
      })
      .finally(() => pending.delete(userId));
    pending.set(userId, lookup);
    return lookup;
  }

  function invalidate(userId: string): void {
    cache.delete(userId);
  }

  return { get, invalidate };
}

export type PermissionCache = ReturnType<typeof createPermissionCache>;

export function hasPermission(p: Pick<UserPermissions, "permissions">, needed: Permission): boolean {
  return p.permissions.includes(needed) || p.permissions.includes("admin");
}

export function canSeeAccount(p: Pick<UserPermissions, "accounts" | "allAccounts">, accountId: string): boolean {
  return p.allAccounts || p.accounts.includes(accountId);
}

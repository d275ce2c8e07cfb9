import {
  type Execution,
  type Permission,
  type TopicKind,
  type UserPermissions,
  executionAccounts,
  topics,
} from "@desk/contracts";
import { TRPCError } from "@trpc/server";

/**
 * Who may do what: every permission check and every account scope of the
 * gateway, for calls and for each subscription event. Routers and the stream
 * layer ask here and nowhere else; a rule changes in this file only.
 */

/** The authenticated caller (ctx.user): token claims plus auth_service's permissions. */
export interface AuthUser {
  userId: string;
  username: string;
  role: UserPermissions["role"];
  permissions: Permission[];
  accounts: string[];
  allAccounts: boolean;
  /** Token expiry, seconds since the epoch. */
  tokenExp: number;
  /** The login the token belongs to, and the user's token version it was issued under (auth/revocation.ts). */
  sessionId: string | undefined;
  tokenVersion: number | undefined;
}

type Holder = Pick<UserPermissions, "permissions">;
type Scoped = Pick<UserPermissions, "accounts" | "allAccounts">;

/** Admin implies every permission. */
export function hasPermission(user: Holder, needed: Permission): boolean {
  return user.permissions.includes(needed) || user.permissions.includes("admin");
}

export function requirePermission(user: Holder & { role: string }, needed: Permission): void {
  if (!hasPermission(user, needed)) {
    throw new TRPCError({ code: "FORBIDDEN", message: `Role ${user.role} lacks the ${needed} permission` });
  }
}

export function canSeeAccount(user: Scoped, accountId: string): boolean {
  return user.allAccounts || user.accounts.includes(accountId);
}

/** Every account must be the caller's; the error names the others. */
export function requireAccounts(user: Scoped, accountIds: readonly string[]): void {
  const denied = accountIds.filter((id) => !canSeeAccount(user, id));
  if (denied.length > 0) {
    throw new TRPCError({ code: "FORBIDDEN", message: `No access to account(s): ${denied.join(", ")}` });
  }
}

/** Looking up another user (their permissions, whether they exist) is for admins. */
export function requireSelfOrAdmin(user: Pick<AuthUser, "userId"> & Holder, userId: string): void {
  if (user.userId !== userId && !user.permissions.includes("admin")) {
    throw new TRPCError({ code: "FORBIDDEN", message: "Only an admin may look up another user" });
  }
}

/** A result scope for lists: keeps the items whose account the caller may see. */
export function onlyVisible<T>(accountOf: (item: T) => string) {
  return (items: T[], user: Scoped): T[] => items.filter((item) => canSeeAccount(user, accountOf(item)));
}

/** A result scope for one object: refuses it unless the caller may see all its accounts. */
export function ownedBy<A>(accountsOf: (item: A) => readonly string[]) {
  return <T extends A>(item: T, user: Scoped): T => {
    requireAccounts(user, accountsOf(item));
    return item;
  };
}

/** The accounts an algorithm or an execution trades for. */
export const accountsOf = {
  algorithm: (algorithm: { accountId: string }): string[] => [algorithm.accountId],
  execution: (execution: Pick<Execution, "legs" | "fills">): string[] => executionAccounts(execution),
};

/**
 * The per-event check of a subscription of topic family `kind`: an event is
 * delivered only when the caller may see every account it concerns (the topic
 * contract says which). Undefined when there is nothing to check per event (the
 * family concerns no account, like market ticks, or the caller sees all accounts),
 * so the hottest streams pay nothing.
 */
export function eventScope(user: Scoped, kind: TopicKind): ((data: unknown) => boolean) | undefined {
  const concerns = topics[kind].accountsOf as ((data: unknown) => readonly string[]) | undefined;
  if (!concerns || user.allAccounts) return undefined;
  return (data) => concerns(data).every((id) => canSeeAccount(user, id));
}

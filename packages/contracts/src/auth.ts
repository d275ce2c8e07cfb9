import { z } from "zod";
import { AccountId, UserId } from "./common.js";

export const Role = z.enum(["admin", "trader", "viewer"]);

export const Permission = z.enum([
  "account:read",
  "account:write",
  "algorithm:read",
  "algorithm:control",
  "instruction:parse",
  "instruction:execute",
  "market:read",
  "admin",
]);

export const User = z.object({
  id: UserId,
  username: z.string().min(1),
  displayName: z.string(),
  role: Role,
  active: z.boolean(),
});

/**
 * Bounds checked before any work (limiter keys, hashing, backend calls): a username
 * of 900 KB must cost a 400, not a scrypt run or a megabyte-long key.
 */
export const MAX_USERNAME = 128;
export const MAX_PASSWORD = 256;
export const Username = z.string().min(1).max(MAX_USERNAME).describe("username");
export const Password = z.string().min(1).max(MAX_PASSWORD);

/**
 * A per-user counter the auth service increments whenever the user's earlier tokens
 * must stop working (a password change): the gateway puts it in each token it issues
 * and refuses a token whose counter is not the user's current one. Optional: a backend
 * without it leaves revocation to the gateway that took the change.
 */
export const TokenVersion = z
  .int()
  .nonnegative()
  .describe("incremented when the user's earlier tokens are revoked (password change)");

/** authenticate(username, password): a wrong password is a backend error (UNAUTHENTICATED), not a result. */
export const AuthenticateArgs = z.tuple([Username, Password.describe("password")]);
export const AuthenticateResult = z.object({
  user: User,
  permissions: z.array(Permission),
  /** The user's current token version, when the backend keeps one. */
  tokenVersion: TokenVersion.nullish(),
});

export const VerifyUserArgs = z.tuple([UserId]);
export const VerifyUserResult = z.object({
  userId: UserId,
  exists: z.boolean(),
  active: z.boolean(),
});

export const ChangePasswordArgs = z.tuple([UserId, Password.describe("oldPassword"), Password.describe("newPassword")]);
export const ChangePasswordResult = z.object({ changed: z.literal(true) });

export const GetUserPermissionsArgs = z.tuple([UserId]);
export const UserPermissions = z.object({
  userId: UserId,
  role: Role,
  permissions: z.array(Permission),
  /** Accounts the user may see; meaningless when allAccounts is true. */
  accounts: z.array(AccountId),
  allAccounts: z.boolean(),
  /** The user's current token version (see TokenVersion); absent when the backend keeps none. */
  tokenVersion: TokenVersion.nullish(),
});

export type Role = z.infer<typeof Role>;
export type Permission = z.infer<typeof Permission>;
export type User = z.infer<typeof User>;
export type AuthenticateResult = z.infer<typeof AuthenticateResult>;
export type VerifyUserResult = z.infer<typeof VerifyUserResult>;
export type ChangePasswordResult = z.infer<typeof ChangePasswordResult>;
export type UserPermissions = z.infer<typeof UserPermissions>;

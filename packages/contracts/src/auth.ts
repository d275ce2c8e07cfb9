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

/** authenticate(username, password): a wrong password is a backend error (UNAUTHENTICATED), not a result. */
export const AuthenticateArgs = z.tuple([
  z.string().min(1).describe("username"),
  z.string().min(1).describe("password"),
]);
export const AuthenticateResult = z.object({
  user: User,
  permissions: z.array(Permission),
});

export const VerifyUserArgs = z.tuple([UserId]);
export const VerifyUserResult = z.object({
  userId: UserId,
  exists: z.boolean(),
  active: z.boolean(),
});

export const ChangePasswordArgs = z.tuple([
  UserId,
  z.string().min(1).describe("oldPassword"),
  z.string().min(1).describe("newPassword"),
]);
export const ChangePasswordResult = z.object({ changed: z.literal(true) });

export const GetUserPermissionsArgs = z.tuple([UserId]);
export const UserPermissions = z.object({
  userId: UserId,
  role: Role,
  permissions: z.array(Permission),
  /** Accounts the user may see; meaningless when allAccounts is true. */
  accounts: z.array(AccountId),
  allAccounts: z.boolean(),
});

export type Role = z.infer<typeof Role>;
export type Permission = z.infer<typeof Permission>;
export type User = z.infer<typeof User>;
export type AuthenticateResult = z.infer<typeof AuthenticateResult>;
export type VerifyUserResult = z.infer<typeof VerifyUserResult>;
export type ChangePasswordResult = z.infer<typeof ChangePasswordResult>;
export type UserPermissions = z.infer<typeof UserPermissions>;

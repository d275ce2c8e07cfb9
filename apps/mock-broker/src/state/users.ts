import { randomBytes, scrypt, scryptSync, timingSafeEqual } from "node:crypto";
import { Permission, type Role, type User, type UserPermissions } from "@desk/contracts";

/**
 * The mock's users. Passwords are stored as scrypt hashes with a per-user salt,
 * as a real system would, so change_password really changes what logs in.
 * Dev logins (see README): admin/admin123, trader1/trader123, viewer1/viewer123.
 */
export const ALL_PERMISSIONS: readonly Permission[] = Permission.options;

const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  admin: ALL_PERMISSIONS,
  trader: ALL_PERMISSIONS.filter((p) => p !== "admin"),
  viewer: ["account:read", "algorithm:read", "market:read"],
};

interface PasswordHash {
  salt: Buffer;
  hash: Buffer;
}

interface UserRecord {
  user: User;
  password: PasswordHash;
  accounts: string[];
  allAccounts: boolean;
  /** Incremented when the user's earlier tokens must stop working (a password change). */
  tokenVersion: number;
}

export interface SeedUser {
  id: string;
  username: string;
  displayName: string;
  role: Role;
  password: string;
  accounts: string[];
  allAccounts: boolean;
}

export const SEED_USERS: readonly SeedUser[] = [
  {
    id: "user-admin",
    username: "admin",
    displayName: "Administrator",
    role: "admin",
    password: "admin123",
    accounts: ["account1", "account2", "account3"],
    allAccounts: true,
  },
  {
    id: "user-trader1",
    username: "trader1",
    displayName: "Trader One",
    role: "trader",
    password: "trader123",
    accounts: ["account1", "account2"],
    allAccounts: false,
  },
  {
    id: "user-viewer1",
    username: "viewer1",
    displayName: "Viewer One",
    role: "viewer",
    password: "viewer123",
    accounts: ["account1", "account2", "account3"],
    allAccounts: true,
  },
];

const KEY_LENGTH = 32;

function hashSync(password: string): PasswordHash {
  const salt = randomBytes(16);
  return { salt, hash: scryptSync(password, salt, KEY_LENGTH) };
}

function derive(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, KEY_LENGTH, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export interface UserStore {
  /** The user if the password matches, else undefined (never says which part was wrong). */
  authenticate(username: string, password: string): Promise<User | undefined>;
  byId(userId: string): User | undefined;
  /** true if the old password matched and the hash was replaced (which revokes the user's earlier tokens). */
  changePassword(userId: string, oldPassword: string, newPassword: string): Promise<boolean>;
  permissions(userId: string): UserPermissions | undefined;
}

export function createUserStore(seed: readonly SeedUser[] = SEED_USERS): UserStore {
  const byId = new Map<string, UserRecord>();
  const byName = new Map<string, UserRecord>();
  for (const s of seed) {
    const record: UserRecord = {
      user: { id: s.id, username: s.username, displayName: s.displayName, role: s.role, active: true },
      password: hashSync(s.password),
      accounts: [...s.accounts],
      allAccounts: s.allAccounts,
      tokenVersion: 0,
    };
    byId.set(s.id, record);
    byName.set(s.username, record);
  }

  const matches = async (record: UserRecord, password: string): Promise<boolean> => {
    const key = await derive(password, record.password.salt);
    return timingSafeEqual(key, record.password.hash);
  };

  return {
    async authenticate(username, password) {
      const record = byName.get(username);
      // Hash anyway for an unknown user so timing does not reveal which usernames exist.
      if (!record) {
        await derive(password, Buffer.alloc(16));
        return undefined;
      }
      if (!record.user.active || !(await matches(record, password))) return undefined;
      return { ...record.user };
    },
    byId: (userId) => {
      const r = byId.get(userId);
      return r ? { ...r.user } : undefined;
    },
    async changePassword(userId, oldPassword, newPassword) {
      const record = byId.get(userId);
      if (!record || !(await matches(record, oldPassword))) return false;
      const salt = randomBytes(16);
      record.password = { salt, hash: await derive(newPassword, salt) };
      // Every gateway replica reads this through get_user_permissions and refuses older tokens.
      record.tokenVersion++;
      return true;
    },
    permissions(userId) {
      const r = byId.get(userId);
      if (!r) return undefined;
      return {
        userId: r.user.id,
        role: r.user.role,
        permissions: [...ROLE_PERMISSIONS[r.user.role]],
        accounts: [...r.accounts],
        allAccounts: r.allAccounts,
        tokenVersion: r.tokenVersion,
      };
    },
  };
}

export function permissionsOfRole(role: Role): Permission[] {
  return [...ROLE_PERMISSIONS[role]];
}

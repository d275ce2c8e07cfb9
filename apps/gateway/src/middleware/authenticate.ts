import type { Permission, UserPermissions } from "@desk/contracts";
import { TRPCError } from "@trpc/server";
import { type TokenClaims, TokenError } from "../auth/jwt.js";
import { type AuthUser, requirePermission } from "../authorization.js";
import type { GatewayRuntime } from "../runtime.js";
import { admitUser } from "./limits.js";

/**
 * The caller behind `token`, with auth_service's current permissions: verified on
 * every operation, not once per connection (a WebSocket outlives its token), then
 * counted against the per-user limit.
 */
export async function authenticate(runtime: GatewayRuntime, token: string | null): Promise<AuthUser> {
  let claims: Readonly<TokenClaims>;
  try {
    claims = await runtime.jwt.verify(token);
  } catch (err) {
    const reason = err instanceof TokenError ? err.reason : "invalid";
    runtime.metrics.authFailures.inc({ reason });
    throw new TRPCError({ code: "UNAUTHORIZED", message: err instanceof TokenError ? err.message : "Invalid token" });
  }
  await admitUser(runtime, claims.userId);
  let permissions: UserPermissions;
  try {
    permissions = await runtime.permissions.get(claims.userId);
  } catch (err) {
    // A valid signature for a user the backend no longer knows is not a 404 of the route.
    if (err instanceof TRPCError && (err.code === "NOT_FOUND" || err.code === "UNAUTHORIZED")) {
      runtime.metrics.authFailures.inc({ reason: "unknown_user" });
      throw new TRPCError({ code: "UNAUTHORIZED", message: "User is unknown or disabled" });
    }
    throw err;
  }
  return {
    userId: claims.userId,
    username: claims.username,
    role: permissions.role,
    permissions: permissions.permissions,
    accounts: permissions.accounts,
    allAccounts: permissions.allAccounts,
    tokenExp: claims.exp,
  };
}

/** A procedure's declared permission (its meta), checked before its input is even parsed; refusals are counted. */
export function requireDeclaredPermission(runtime: GatewayRuntime, user: AuthUser, permission: Permission): void {
  try {
    requirePermission(user, permission);
  } catch (err) {
    runtime.metrics.authFailures.inc({ reason: "forbidden" });
    throw err;
  }
}

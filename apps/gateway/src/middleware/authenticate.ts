import type { Permission, UserPermissions } from "@desk/contracts";
import { TRPCError } from "@trpc/server";
import { type TokenClaims, TokenError } from "../auth/jwt.js";
import { whyRevoked } from "../auth/revocation.js";
import { type AuthUser, requirePermission } from "../authorization.js";
import type { GatewayRuntime } from "../runtime.js";
import { admitUser } from "./limits.js";

/** The cause of an UNAUTHORIZED answer about the token itself: the SDK tells "refresh" from "log in again" by it. */
export class TokenRefused extends Error {
  override readonly name = "TokenRefused";
  constructor(
    readonly reason: TokenError["reason"],
    message: string,
  ) {
    super(message);
  }
}

export function tokenRefused(
  runtime: GatewayRuntime,
  reason: TokenError["reason"],
  message: string,
  counted: string = reason,
): TRPCError {
  runtime.metrics.authFailures.inc({ reason: counted });
  return new TRPCError({ code: "UNAUTHORIZED", message, cause: new TokenRefused(reason, message) });
}

/**
 * The caller behind `token`, with auth_service's current permissions: verified on
 * every operation, not once per connection (a WebSocket outlives its token), then
 * counted against the per-user limit. A token is refused once its session was
 * revoked (logout, a reused refresh token) or the user's token version moved (a
 * password change, seen by every replica through get_user_permissions within the
 * permission cache's window). Every transport reaches the caller through here.
 */
export async function authenticate(runtime: GatewayRuntime, token: string | null): Promise<AuthUser> {
  let claims: Readonly<TokenClaims>;
  try {
    claims = await runtime.jwt.verify(token);
  } catch (err) {
    const reason = err instanceof TokenError ? err.reason : "invalid";
    throw tokenRefused(runtime, reason, err instanceof TokenError ? err.message : "Invalid token");
  }
  // The session store first: a logged-out token costs no backend lookup.
  const ended = whyRevoked(claims, runtime.sessions, undefined);
  if (ended !== undefined) throw tokenRefused(runtime, "revoked", `Token revoked: ${ended}`);
  await admitUser(runtime, claims.userId);
  let permissions: UserPermissions;
  try {
    permissions = await runtime.permissions.get(claims.userId);
  } catch (err) {
    // A valid signature for a user the backend no longer knows is not a 404 of the route.
    if (err instanceof TRPCError && (err.code === "NOT_FOUND" || err.code === "UNAUTHORIZED")) {
      throw tokenRefused(runtime, "revoked", "User is unknown or disabled", "unknown_user");
    }
    throw err;
  }
  const revoked = whyRevoked(claims, runtime.sessions, permissions);
  if (revoked !== undefined) {
    // Remembered for this session, so its refresh token is refused too without asking again.
    if (claims.sessionId !== undefined) runtime.sessions.revoke(claims.sessionId, revoked);
    throw tokenRefused(runtime, "revoked", `Token revoked: ${revoked}`);
  }
  return {
    userId: claims.userId,
    username: claims.username,
    role: permissions.role,
    permissions: permissions.permissions,
    accounts: permissions.accounts,
    allAccounts: permissions.allAccounts,
    tokenExp: claims.exp,
    sessionId: claims.sessionId,
    tokenVersion: claims.tokenVersion,
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

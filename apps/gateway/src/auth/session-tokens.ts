import { TRPCError } from "@trpc/server";
import { tokenRefused } from "../middleware/authenticate.js";
import type { GatewayRuntime } from "../runtime.js";
import { TokenError } from "./jwt.js";
import { whyRevoked } from "./revocation.js";
import { REVOKED, type Session } from "./sessions.js";

/** What login and refresh hand back: a short-lived access token and the refresh token that renews it. */
export interface SessionTokens {
  token: string;
  tokenType: "Bearer";
  /** Access token expiry (ISO-8601), and its lifetime in seconds (the client's clock may differ from ours). */
  expiresAt: string;
  expiresIn: number;
  /** Exchange it at auth.refresh for a new pair; each one works once. */
  refreshToken: string;
  /** When the session ends, whatever happens: log in again then (ISO-8601). */
  refreshExpiresAt: string;
}

/** A fresh token pair for the current link of `session`'s chain. */
export async function issueTokens(runtime: GatewayRuntime, session: Session): Promise<SessionTokens> {
  const { jwt } = runtime;
  const notAfter = Math.floor(session.expiresAt / 1000);
  const access = await jwt.sign({ ...session, notAfter });
  const refreshToken = await jwt.signRefresh({
    userId: session.userId,
    sessionId: session.sessionId,
    generation: session.generation,
    exp: notAfter,
  });
  return {
    token: access.token,
    tokenType: "Bearer",
    expiresAt: access.expiresAt.toISOString(),
    expiresIn: access.expiresIn,
    refreshToken,
    refreshExpiresAt: new Date(notAfter * 1000).toISOString(),
  };
}

/**
 * auth.refresh: exchanges the current refresh token of a session for a new pair
 * (rotation). A rotated (older) token presented again means its chain was copied:
 * the session is revoked, and every token of it stops working. The user's token
 * version is asked for afresh, so a password changed anywhere ends the chain here.
 */
export async function refreshSession(
  runtime: GatewayRuntime,
  refreshToken: string,
): Promise<{ session: Session; tokens: SessionTokens }> {
  let claims: Awaited<ReturnType<GatewayRuntime["jwt"]["verifyRefresh"]>>;
  try {
    claims = await runtime.jwt.verifyRefresh(refreshToken);
  } catch (err) {
    const reason = err instanceof TokenError ? err.reason : "invalid";
    throw tokenRefused(
      runtime,
      reason,
      reason === "expired" ? "Session expired; log in again" : "Invalid refresh token",
    );
  }
  // Synchronous from the generation check to the increment: two refreshes with one token cannot both pass.
  const rotation = runtime.sessions.rotate(claims.sessionId, claims.generation);
  if (!rotation.ok) {
    if (rotation.why === "reused") {
      runtime.logger.warn(
        { userId: claims.userId, sessionId: claims.sessionId, generation: claims.generation },
        "a rotated refresh token was presented again: session revoked",
      );
    }
    const message =
      rotation.why === "unknown"
        ? "Session unknown to this gateway (it restarted, or another gateway issued it); log in again"
        : rotation.why === "expired"
          ? "Session expired; log in again"
          : `Session revoked: ${rotation.session?.revoked ?? REVOKED.reuse}`;
    throw tokenRefused(runtime, rotation.why === "expired" ? "expired" : "revoked", message);
  }
  const { session } = rotation;
  let current: Awaited<ReturnType<GatewayRuntime["permissions"]["refresh"]>>;
  try {
    current = await runtime.permissions.refresh(session.userId);
  } catch (err) {
    if (err instanceof TRPCError && (err.code === "NOT_FOUND" || err.code === "UNAUTHORIZED")) {
      runtime.sessions.revoke(session.sessionId, REVOKED.user);
      throw tokenRefused(runtime, "revoked", "User is unknown or disabled", "unknown_user");
    }
    // The backend did not answer: the client may try the same refresh token again (the chain moved, so step it back).
    session.generation--;
    throw err;
  }
  const revoked = whyRevoked(session, runtime.sessions, current);
  if (revoked !== undefined) {
    runtime.sessions.revoke(session.sessionId, revoked);
    throw tokenRefused(runtime, "revoked", `Session revoked: ${revoked}`);
  }
  return { session, tokens: await issueTokens(runtime, session) };
}

import { createHmac, randomBytes } from "node:crypto";
import { SignJWT, errors as joseErrors, jwtVerify } from "jose";
import { LRUCache } from "lru-cache";

/** What the gateway puts in (and trusts from) an access token. */
export interface TokenClaims {
  userId: string;
  username: string;
  role: string;
  /** The login this token belongs to (auth/sessions.ts); absent only in tokens of older gateways. */
  sessionId: string | undefined;
  /** The user's token version when the session began (the backend's; absent when it keeps none). */
  tokenVersion: number | undefined;
  /** Issued at and expiry, seconds since the epoch. */
  iat: number;
  exp: number;
}

/** What a refresh token says: which session, which link of its rotation chain, until when. */
export interface RefreshClaims {
  userId: string;
  sessionId: string;
  generation: number;
  exp: number;
}

export type TokenFailure = "missing" | "expired" | "invalid" | "revoked";

export class TokenError extends Error {
  override readonly name = "TokenError";
  constructor(
    readonly reason: TokenFailure,
    message: string,
  ) {
    super(message);
  }
}

const ALGORITHM = "HS256";
const ISSUER = "desk-gateway";
const ACCESS = "desk-gateway/access";
const REFRESH = "desk-gateway/refresh";

/**
 * Signs and verifies the gateway's own tokens (HS256, pinned on verify so "alg: none" or RS/HS confusion cannot pass).
 *
 * Two kinds, each under its own key and audience, so neither passes for the other:
 * short-lived access tokens (every call carries one) and refresh tokens (only
 * auth.refresh takes them). The refresh key is derived from the secret, so one
 * JWT_SECRET still configures everything.
 *
 * An access token that passed jose's full check (signature, algorithm, issuer,
 * audience, claims) is remembered by its exact text until its expiry: every operation
 * on a WebSocket presents the same token, and re-running the HMAC through WebCrypto
 * per call cost more than the rest of the gateway's own work (a thread-pool round trip
 * each time). A remembered token is still checked against the clock on EACH call, with
 * jose's rule (expired once exp <= now). Whether it was revoked is not a property of
 * its bytes: the caller asks the session store and the user's token version on every
 * call (middleware/authenticate.ts). Failures are never remembered.
 */
export function createJwt(o: {
  secret: string;
  ttlSeconds: number;
  /** How many verified tokens to remember (oldest forgotten first). */
  cacheEntries?: number;
  /** The clock, ms since the epoch (tests move it). */
  now?: () => number;
}) {
  const accessKey = new TextEncoder().encode(o.secret);
  const refreshKey = createHmac("sha256", o.secret).update("desk-gateway refresh tokens").digest();
  const now = o.now ?? Date.now;
  const nowSeconds = () => Math.floor(now() / 1000);
  // Bounded (least recently used forgotten first); an entry also lapses at its token's expiry.
  const verified = new LRUCache<string, Readonly<TokenClaims>>({
    max: Math.max(1, o.cacheEntries ?? 10_000),
    perf: { now },
    // No cached clock: with one (lru-cache's default, 1 ms) every lookup after a quiet
    // millisecond arms a timer, one per call on a lightly loaded gateway.
    ttlResolution: 0,
  });

  async function sign(user: {
    userId: string;
    username: string;
    role: string;
    sessionId: string;
    tokenVersion: number | undefined;
    /** Never later than this (the session's end), seconds since the epoch. */
    notAfter?: number;
  }): Promise<{ token: string; expiresAt: Date; expiresIn: number }> {
    const issuedAt = nowSeconds();
    const exp = Math.min(issuedAt + o.ttlSeconds, user.notAfter ?? Number.POSITIVE_INFINITY);
    const token = await new SignJWT({
      username: user.username,
      role: user.role,
      sid: user.sessionId,
      ...(user.tokenVersion === undefined ? {} : { ver: user.tokenVersion }),
    })
      .setProtectedHeader({ alg: ALGORITHM, typ: "JWT" })
      .setSubject(user.userId)
      .setIssuer(ISSUER)
      .setAudience(ACCESS)
      // Two tokens of one session issued within a second still differ (they are told apart in logs).
      .setJti(randomBytes(9).toString("base64url"))
      .setIssuedAt(issuedAt)
      .setExpirationTime(exp)
      .sign(accessKey);
    // Seconds from now, with the fraction: exp is whole seconds, so a token issued late in a
    // second lives up to one second less than the TTL, which matters to a client renewing it.
    return { token, expiresAt: new Date(exp * 1000), expiresIn: Math.max(0, exp * 1000 - now()) / 1000 };
  }

  async function signRefresh(claims: RefreshClaims): Promise<string> {
    return new SignJWT({ sid: claims.sessionId, gen: claims.generation })
      .setProtectedHeader({ alg: ALGORITHM, typ: "JWT" })
      .setSubject(claims.userId)
      .setIssuer(ISSUER)
      .setAudience(REFRESH)
      .setIssuedAt(nowSeconds())
      .setExpirationTime(claims.exp)
      .sign(refreshKey);
  }

  function remember(token: string, claims: Readonly<TokenClaims>): void {
    verified.set(token, claims, { ttl: Math.max(1, claims.exp * 1000 - now()) });
  }

  async function verifyWith(token: string, key: Uint8Array, audience: string) {
    try {
      const { payload } = await jwtVerify(token, key, {
        algorithms: [ALGORITHM],
        issuer: ISSUER,
        audience,
        currentDate: new Date(now()),
      });
      if (typeof payload.sub !== "string" || typeof payload.exp !== "number" || typeof payload.iat !== "number") {
        throw new TokenError("invalid", "Token is missing required claims");
      }
      return payload as typeof payload & { sub: string; exp: number; iat: number };
    } catch (err) {
      if (err instanceof TokenError) throw err;
      if (err instanceof joseErrors.JWTExpired) throw new TokenError("expired", "Token expired");
      throw new TokenError("invalid", "Invalid token");
    }
  }

  async function verify(token: string | null | undefined): Promise<Readonly<TokenClaims>> {
    if (!token) throw new TokenError("missing", "Missing bearer token");
    const known = verified.get(token);
    if (known) {
      if (known.exp > nowSeconds()) return known;
      verified.delete(token);
      throw new TokenError("expired", "Token expired");
    }
    const payload = await verifyWith(token, accessKey, ACCESS);
    const { username, role, sid, ver } = payload;
    if (
      typeof username !== "string" ||
      typeof role !== "string" ||
      (sid !== undefined && typeof sid !== "string") ||
      (ver !== undefined && !Number.isSafeInteger(ver))
    ) {
      throw new TokenError("invalid", "Token is missing required claims");
    }
    const claims = Object.freeze({
      userId: payload.sub,
      username,
      role,
      sessionId: sid as string | undefined,
      tokenVersion: ver as number | undefined,
      iat: payload.iat,
      exp: payload.exp,
    });
    // A not-before claim would make the verdict depend on time in a second way; we never
    // issue one, so such a token is simply verified in full every time.
    if (payload.nbf === undefined) remember(token, claims);
    return claims;
  }

  /** A refresh token's claims; never cached (each one is used once). */
  async function verifyRefresh(token: string): Promise<RefreshClaims> {
    const payload = await verifyWith(token, refreshKey, REFRESH);
    const { sid, gen } = payload;
    if (typeof sid !== "string" || !Number.isSafeInteger(gen) || (gen as number) < 0) {
      throw new TokenError("invalid", "Refresh token is missing required claims");
    }
    return { userId: payload.sub, sessionId: sid, generation: gen as number, exp: payload.exp };
  }

  return { sign, signRefresh, verify, verifyRefresh };
}

export type Jwt = ReturnType<typeof createJwt>;

/** "Bearer abc" -> "abc"; anything else -> null. */
export function bearerToken(header: string | null | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1]! : null;
}

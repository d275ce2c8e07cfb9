import { SignJWT, errors as joseErrors, jwtVerify } from "jose";
import { LRUCache } from "lru-cache";

/** What the gateway puts in (and trusts from) a token. */
export interface TokenClaims {
  userId: string;
  username: string;
  role: string;
  /** Expiry, seconds since the epoch. */
  exp: number;
}

export type TokenFailure = "missing" | "expired" | "invalid";

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

/**
 * Signs and verifies the gateway's own tokens (HS256, pinned on verify so "alg: none" or RS/HS confusion cannot pass).
 *
 * A token that passed jose's full check (signature, algorithm, issuer, claims) is
 * remembered by its exact text until its expiry: every operation on a WebSocket
 * presents the same token, and re-running the HMAC through WebCrypto per call cost
 * more than the rest of the gateway's own work (a thread-pool round trip each time).
 * A remembered token is still checked against the clock on EACH call, with jose's
 * rule (expired once exp <= now), so expiry takes effect exactly as before. Nothing
 * else about a token can change (no revocation list): same bytes, same verdict.
 * Failures are never remembered.
 */
export function createJwt(o: {
  secret: string;
  ttlSeconds: number;
  /** How many verified tokens to remember (oldest forgotten first). */
  cacheEntries?: number;
  /** The clock, ms since the epoch (tests move it). */
  now?: () => number;
}) {
  const key = new TextEncoder().encode(o.secret);
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
  }): Promise<{ token: string; expiresAt: Date }> {
    const issuedAt = nowSeconds();
    const exp = issuedAt + o.ttlSeconds;
    const token = await new SignJWT({ username: user.username, role: user.role })
      .setProtectedHeader({ alg: ALGORITHM, typ: "JWT" })
      .setSubject(user.userId)
      .setIssuer(ISSUER)
      .setIssuedAt(issuedAt)
      .setExpirationTime(exp)
      .sign(key);
    return { token, expiresAt: new Date(exp * 1000) };
  }

  function remember(token: string, claims: Readonly<TokenClaims>): void {
    verified.set(token, claims, { ttl: Math.max(1, claims.exp * 1000 - now()) });
  }

  async function verify(token: string | null | undefined): Promise<Readonly<TokenClaims>> {
    if (!token) throw new TokenError("missing", "Missing bearer token");
    const known = verified.get(token);
    if (known) {
      if (known.exp > nowSeconds()) return known;
      verified.delete(token);
      throw new TokenError("expired", "Token expired");
    }
    try {
      const { payload } = await jwtVerify(token, key, {
        algorithms: [ALGORITHM],
        issuer: ISSUER,
        currentDate: new Date(now()),
      });
      if (
        typeof payload.sub !== "string" ||
        typeof payload.username !== "string" ||
        typeof payload.role !== "string" ||
        typeof payload.exp !== "number"
      ) {
        throw new TokenError("invalid", "Token is missing required claims");
      }
      const claims = Object.freeze({
        userId: payload.sub,
        username: payload.username,
        role: payload.role,
        exp: payload.exp,
      });
      // A not-before claim would make the verdict depend on time in a second way; we never
      // issue one, so such a token is simply verified in full every time.
      if (payload.nbf === undefined) remember(token, claims);
      return claims;
    } catch (err) {
      if (err instanceof TokenError) throw err;
      if (err instanceof joseErrors.JWTExpired) throw new TokenError("expired", "Token expired");
      throw new TokenError("invalid", "Invalid token");
    }
  }

  return { sign, verify };
}

export type Jwt = ReturnType<typeof createJwt>;

/** "Bearer abc" -> "abc"; anything else -> null. */
export function bearerToken(header: string | null | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1]! : null;
}

import { SignJWT, errors as joseErrors, jwtVerify } from "jose";

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
  constructor(readonly reason: TokenFailure, message: string) {
    super(message);
  }
}

const ALGORITHM = "HS256";
const ISSUER = "desk-gateway";

/** Signs and verifies the gateway's own tokens (HS256, pinned on verify so "alg: none" or RS/HS confusion cannot pass). */
export function createJwt(o: { secret: string; ttlSeconds: number }) {
  const key = new TextEncoder().encode(o.secret);

  async function sign(user: { userId: string; username: string; role: string }): Promise<{ token: string; expiresAt: Date }> {
    const now = Math.floor(Date.now() / 1000);
    const exp = now + o.ttlSeconds;
    const token = await new SignJWT({ username: user.username, role: user.role })
      .setProtectedHeader({ alg: ALGORITHM, typ: "JWT" })
      .setSubject(user.userId)
      .setIssuer(ISSUER)
      .setIssuedAt(now)
      .setExpirationTime(exp)
      .sign(key);
    return { token, expiresAt: new Date(exp * 1000) };
  }

  async function verify(token: string | null | undefined): Promise<TokenClaims> {
    if (!token) throw new TokenError("missing", "Missing bearer token");
    try {
      const { payload } = await jwtVerify(token, key, { algorithms: [ALGORITHM], issuer: ISSUER });
      if (
        typeof payload.sub !== "string" ||
        typeof payload.username !== "string" ||
        typeof payload.role !== "string" ||
        typeof payload.exp !== "number"
      ) {
        throw new TokenError("invalid", "Token is missing required claims");
      }
      return { userId: payload.sub, username: payload.username, role: payload.role, exp: payload.exp };
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

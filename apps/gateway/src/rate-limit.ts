import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";
import type { GatewayConfig } from "./config.js";

/**
 * The gateway's limits, on rate-limiter-flexible's memory store: per client address
 * (before authentication), per user, and failed logins per (username, address).
 * One gateway process keeps them in memory; several replicas would pass the same
 * options to RateLimiterRedis (same API) so every replica counts against one store.
 *
 * A call limit of `capacity` with `refillPerSec` is a fixed window of `capacity`
 * points lasting capacity / refillPerSec seconds: the same sustained rate and the
 * same burst as the token bucket it replaces, counted per window.
 */
export function createLimits(
  config: Pick<
    GatewayConfig,
    "rateLimit" | "loginFailuresPerMinute" | "addressLoginFailures" | "addressLoginFailureWindowSeconds"
  >,
) {
  const { rateLimit } = config;
  const perWindow = (keyPrefix: string, points: number, refillPerSec: number) =>
    new RateLimiterMemory({ keyPrefix, points, duration: points / refillPerSec });
  const byAddress = perWindow("ip", rateLimit.ipCapacity, rateLimit.ipRefillPerSec);
  const byUser = perWindow("user", rateLimit.userCapacity, rateLimit.userRefillPerSec);
  const failedLogins = new RateLimiterMemory({
    keyPrefix: "login",
    points: config.loginFailuresPerMinute,
    duration: 60,
  });
  // Across usernames: one address trying many accounts (600 usernames, one password each)
  // meets this one. A success does not reset it, or one valid account would launder the rest.
  const failedLoginsByAddress = new RateLimiterMemory({
    keyPrefix: "login-ip",
    points: config.addressLoginFailures,
    duration: config.addressLoginFailureWindowSeconds,
  });

  /** Takes one point for `key`: 0 when admitted, else the seconds until the window resets (Retry-After). */
  async function take(limiter: RateLimiterMemory, key: string): Promise<number> {
    try {
      await limiter.consume(key);
      return 0;
    } catch (refusal) {
      if (refusal instanceof RateLimiterRes) return retryAfterSeconds(refusal);
      throw refusal;
    }
  }

  return {
    address: (ip: string) => take(byAddress, ip),
    user: (userId: string) => take(byUser, userId),
    login: {
      /**
       * Seconds until a login for `username` from `ip` may be tried: 0 while fewer than
       * loginFailuresPerMinute failures of that pair fell in the window that opened with
       * the first of them (else until that first failure is a minute old), and fewer than
       * addressLoginFailures failures came from the address in its window, whatever the usernames.
       * `scope` says which limit refused.
       */
      async blockedFor(username: string, ip: string): Promise<{ seconds: number; scope: "login" | "login-ip" }> {
        const [pair, address] = await Promise.all([
          failedLogins.get(loginKey(username, ip)),
          failedLoginsByAddress.get(ip),
        ]);
        if (address && address.consumedPoints >= failedLoginsByAddress.points)
          return { seconds: retryAfterSeconds(address), scope: "login-ip" };
        if (pair && pair.consumedPoints >= failedLogins.points)
          return { seconds: retryAfterSeconds(pair), scope: "login" };
        return { seconds: 0, scope: "login" };
      },
      async recordFailure(username: string, ip: string): Promise<void> {
        await Promise.all([failedLogins.penalty(loginKey(username, ip)), failedLoginsByAddress.penalty(ip)]);
      },
      /** A successful login forgets the pair's failures (not the address's). */
      async reset(username: string, ip: string): Promise<void> {
        await failedLogins.delete(loginKey(username, ip));
      },
    },
  };
}

export type Limits = ReturnType<typeof createLimits>;

/** The key of a (username, address) pair: usernames are bounded by the contracts before this is built. */
function loginKey(username: string, ip: string): string {
  return `${username.trim().toLowerCase()}\u0000${ip}`;
}

function retryAfterSeconds(state: RateLimiterRes): number {
  return Math.max(1, Math.ceil(state.msBeforeNext / 1000));
}

/** The cause of a TOO_MANY_REQUESTS error that knows its Retry-After (the HTTP layer reads it). */
export class RetryAfter extends Error {
  override readonly name = "RetryAfter";
  constructor(
    message: string,
    readonly seconds: number,
  ) {
    super(message);
  }
}

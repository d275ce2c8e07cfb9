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
export function createLimits(config: Pick<GatewayConfig, "rateLimit" | "loginFailuresPerMinute">) {
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
       * Seconds until `key` may try again: 0 while fewer than loginFailuresPerMinute
       * failures fell in the window that opened with the first of them, else until
       * that first failure is a minute old.
       */
      async blockedFor(key: string): Promise<number> {
        const state = await failedLogins.get(key);
        return state && state.consumedPoints >= failedLogins.points ? retryAfterSeconds(state) : 0;
      },
      async recordFailure(key: string): Promise<void> {
        await failedLogins.penalty(key);
      },
      /** A successful login forgets the key's failures. */
      async reset(key: string): Promise<void> {
        await failedLogins.delete(key);
      },
    },
  };
}

export type Limits = ReturnType<typeof createLimits>;

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

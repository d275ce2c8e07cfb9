export interface ReconnectOptions {
  /** Delay before the second attempt; doubles per attempt after that. Default 500 ms. */
  baseMs?: number;
  /** Cap for the exponential part. Default 15,000 ms. */
  maxMs?: number;
  /** Uniform random extra delay in [0, jitterMs). Default 1,000 ms. */
  jitterMs?: number;
}

/**
 * Delay before reconnect attempt `attempt` (0-based). tRPC's default backoff has no
 * jitter and retries the first attempt at 0 ms, so after a gateway restart every
 * client reconnects in the same millisecond; the random term spreads them out.
 */
export function reconnectDelay(attempt: number, o: ReconnectOptions = {}, random: () => number = Math.random): number {
  const baseMs = o.baseMs ?? 500;
  const maxMs = o.maxMs ?? 15_000;
  const jitterMs = o.jitterMs ?? 1_000;
  const exponential = attempt <= 0 ? 0 : Math.min(maxMs, baseMs * 2 ** (attempt - 1));
  return Math.round(exponential + random() * jitterMs);
}

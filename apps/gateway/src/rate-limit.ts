/**
 * In-memory token buckets keyed by user or client address. Hand-written
 * because it is twenty lines and the gateway is a single process; a shared
 * store (Redis) would be the next step for several gateway replicas.
 */
export interface TokenBucketOptions {
  capacity: number;
  refillPerSec: number;
  /** Buckets untouched for this long are forgotten, so memory tracks active clients only. */
  idleMs?: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private lastSweep = Date.now();
  private readonly idleMs: number;

  constructor(private readonly o: TokenBucketOptions) {
    this.idleMs = o.idleMs ?? 10 * 60_000;
  }

  /** Takes one token for `key`; false when the bucket is empty. */
  take(key: string, now = Date.now()): boolean {
    this.sweep(now);
    const bucket = this.buckets.get(key) ?? { tokens: this.o.capacity, updatedAt: now };
    const refilled = Math.min(this.o.capacity, bucket.tokens + ((now - bucket.updatedAt) / 1000) * this.o.refillPerSec);
    bucket.updatedAt = now;
    if (refilled < 1) {
      bucket.tokens = refilled;
      this.buckets.set(key, bucket);
      return false;
    }
    bucket.tokens = refilled - 1;
    this.buckets.set(key, bucket);
    return true;
  }

  /** Seconds until `key` has a token again (for Retry-After). */
  retryAfterSeconds(key: string): number {
    const bucket = this.buckets.get(key);
    if (!bucket || bucket.tokens >= 1) return 0;
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.o.refillPerSec));
  }

  get size(): number {
    return this.buckets.size;
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < this.idleMs) return;
    this.lastSweep = now;
    for (const [key, bucket] of this.buckets) {
      if (now - bucket.updatedAt > this.idleMs) this.buckets.delete(key);
    }
  }
}

/**
 * Counts failures per key in a sliding window (login attempts per username and
 * address): once `maxFailures` happened within `windowMs`, the key is blocked
 * until the oldest of them leaves the window. Successes are not counted.
 */
export class FailureLimiter {
  private readonly failures = new Map<string, number[]>();
  private lastSweep = Date.now();

  constructor(private readonly o: { maxFailures: number; windowMs: number }) {}

  /** Seconds until `key` may try again; 0 when it may now. */
  blockedForSeconds(key: string, now = Date.now()): number {
    const recent = this.recent(key, now);
    if (recent.length < this.o.maxFailures) return 0;
    return Math.max(1, Math.ceil((recent[recent.length - this.o.maxFailures]! + this.o.windowMs - now) / 1000));
  }

  recordFailure(key: string, now = Date.now()): void {
    this.sweep(now);
    const recent = this.recent(key, now);
    recent.push(now);
    // Only the newest maxFailures matter for the decision.
    if (recent.length > this.o.maxFailures) recent.splice(0, recent.length - this.o.maxFailures);
    this.failures.set(key, recent);
  }

  /** A successful login forgets the key's failures. */
  reset(key: string): void {
    this.failures.delete(key);
  }

  private recent(key: string, now: number): number[] {
    const all = this.failures.get(key);
    if (!all) return [];
    const kept = all.filter((at) => now - at < this.o.windowMs);
    if (kept.length === 0) this.failures.delete(key);
    else this.failures.set(key, kept);
    return kept;
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < this.o.windowMs) return;
    this.lastSweep = now;
    for (const key of [...this.failures.keys()]) this.recent(key, now);
  }
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

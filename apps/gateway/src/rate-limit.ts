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
    const refilled = Math.min(
      this.o.capacity,
      bucket.tokens + ((now - bucket.updatedAt) / 1000) * this.o.refillPerSec,
    );
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

/**
 * Recent replies by requestId, bounded by size and age. A Map iterates in
 * insertion order, which here is also age order, so eviction and expiry only
 * ever look at the front.
 */
export class ReplyCache {
  private readonly entries = new Map<string, { reply: Uint8Array; at: number }>();

  constructor(
    private readonly maxSize: number,
    private readonly ttl: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(id: string, now: number): Uint8Array | undefined {
    const e = this.entries.get(id);
    if (e === undefined) return undefined;
    if (now - e.at > this.ttl) {
      this.entries.delete(id);
      return undefined;
    }
    return e.reply;
  }

  set(id: string, reply: Uint8Array, now: number): void {
    this.entries.delete(id);
    this.entries.set(id, { reply, at: now });
    if (this.entries.size > this.maxSize) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
  }

  /** Drops expired entries; called from the heartbeat tick, not per message. */
  purge(now: number): void {
    for (const [id, e] of this.entries) {
      if (now - e.at <= this.ttl) break;
      this.entries.delete(id);
    }
  }
}

/** Nearest-rank percentile of an unsorted sample (sorted copy; samples are bounded). */
export function percentile(values: ArrayLike<number>, p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/**
 * Latency histogram with 0.01 ms buckets up to 100 ms then 1 ms buckets up to 60 s:
 * fan-out records millions of samples, which an array of numbers would not hold.
 */
export class Histogram {
  private readonly fine = new Uint32Array(10_000);
  private readonly coarse = new Uint32Array(60_000);
  count = 0;

  record(ms: number): void {
    const v = ms < 0 ? 0 : ms;
    if (v < 100) this.fine[Math.floor(v * 100)]! += 1;
    else this.coarse[Math.min(59_999, Math.floor(v))]! += 1;
    this.count += 1;
  }

  merge(other: { fine: number[]; coarse: number[] }): void {
    other.fine.forEach((n, i) => {
      this.fine[i]! += n;
      this.count += n;
    });
    other.coarse.forEach((n, i) => {
      this.coarse[i]! += n;
      this.count += n;
    });
  }

  toJSON(): { fine: number[]; coarse: number[] } {
    return { fine: Array.from(this.fine), coarse: Array.from(this.coarse) };
  }

  percentile(p: number): number {
    if (this.count === 0) return Number.NaN;
    const target = Math.ceil((p / 100) * this.count);
    let seen = 0;
    for (let i = 0; i < this.fine.length; i++) {
      seen += this.fine[i]!;
      if (seen >= target) return (i + 1) / 100;
    }
    for (let i = 0; i < this.coarse.length; i++) {
      seen += this.coarse[i]!;
      if (seen >= target) return i + 1;
    }
    return Number.POSITIVE_INFINITY;
  }
}

/** A Prometheus histogram's cumulative buckets: upper bound (seconds) -> count. */
export type PromBuckets = Map<number, number>;

/** The buckets of `name{label="value"}` in Prometheus text (le="+Inf" as Infinity). */
export function parsePromBuckets(text: string, name: string, label: string): PromBuckets {
  const buckets: PromBuckets = new Map();
  const prefix = `${name}_bucket{`;
  for (const line of text.split("\n")) {
    if (!line.startsWith(prefix) || !line.includes(label)) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    if (le === undefined) continue;
    buckets.set(le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le), Number(line.slice(line.lastIndexOf(" ") + 1)));
  }
  return buckets;
}

/**
 * Quantile (ms) of the observations between two scrapes of one histogram, by linear
 * interpolation inside the bucket it falls in (Prometheus's histogram_quantile).
 */
export function promQuantileMs(before: PromBuckets, after: PromBuckets, q: number): number {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((b) => (after.get(b) ?? 0) - (before.get(b) ?? 0));
  const total = counts.at(-1) ?? 0;
  if (total <= 0) return Number.NaN;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (let i = 0; i < bounds.length; i++) {
    const upper = bounds[i]!;
    if (counts[i]! >= rank) {
      if (!Number.isFinite(upper)) return lower * 1000;
      const inBucket = counts[i]! - below;
      return (lower + (upper - lower) * (inBucket > 0 ? (rank - below) / inBucket : 0)) * 1000;
    }
    lower = upper;
    below = counts[i]!;
  }
  return Number.NaN;
}

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

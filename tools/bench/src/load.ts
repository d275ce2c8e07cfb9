import { median, percentile } from "./stats.js";

export interface LoadResult {
  /** completed requests per second */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  completed: number;
  errors: number;
}

export interface LoadOptions {
  concurrency: number;
  durationMs: number;
  /** calls made before the clock starts (JIT, connection set-up) */
  warmupCalls?: number;
}

/**
 * Closed-loop load: `concurrency` callers each issue the next call as soon as the previous
 * one completes, for `durationMs`. Every path (raw ZeroMQ, MDP, gateway) is driven by this
 * one function so the figures compare like with like.
 */
export async function runLoad(call: () => Promise<unknown>, o: LoadOptions): Promise<LoadResult> {
  const warmup = o.warmupCalls ?? Math.min(200, 20 * o.concurrency);
  for (let i = 0; i < warmup; i += o.concurrency) {
    await Promise.all(Array.from({ length: Math.min(o.concurrency, warmup - i) }, () => call()));
  }

  const latencies: number[] = [];
  let errors = 0;
  const start = performance.now();
  const deadline = start + o.durationMs;
  async function caller(): Promise<void> {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      try {
        await call();
        latencies.push(performance.now() - t0);
      } catch {
        errors += 1;
      }
    }
  }
  await Promise.all(Array.from({ length: o.concurrency }, caller));
  const elapsed = (performance.now() - start) / 1000;
  return {
    rps: latencies.length / elapsed,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    completed: latencies.length,
    errors,
  };
}

/** Several rounds, each figure the median across rounds (one noisy round on a shared machine does not decide). */
export async function runRounds(
  call: () => Promise<unknown>,
  o: LoadOptions & { rounds: number },
): Promise<LoadResult> {
  const results: LoadResult[] = [];
  for (let r = 0; r < o.rounds; r++)
    results.push(await runLoad(call, { ...o, warmupCalls: r === 0 ? o.warmupCalls : 0 }));
  return {
    rps: median(results.map((x) => x.rps)),
    p50Ms: median(results.map((x) => x.p50Ms)),
    p99Ms: median(results.map((x) => x.p99Ms)),
    completed: results.reduce((s, x) => s + x.completed, 0),
    errors: results.reduce((s, x) => s + x.errors, 0),
  };
}

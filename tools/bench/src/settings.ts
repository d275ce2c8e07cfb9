/** BENCH_QUICK=1: a ~40 s smoke run (one short round per cell, fewer subscribers). The full run stays under 3 minutes with the build. */
export const quick = process.env.BENCH_QUICK === "1" || process.env.BENCH_QUICK === "true";

export const settings = {
  quick,
  rpcRounds: quick ? 1 : 3,
  rpcRoundMs: quick ? 500 : 1_200,
  concurrencies: [1, 64] as const,
  /**
   * Before the gateway rows, each path (MDP, ws, HTTP) is driven this long unmeasured: a
   * gateway in service is warm. V8 optimises its hot paths over the first few thousand
   * calls: the SDK's c=1 p50 over ws went 1.11, 0.85, 0.70, 0.70 ms in consecutive 1.5 s
   * rounds of a fresh gateway, so the old 20-call warm-up measured the tiering-up.
   */
  warmupMs: quick ? 500 : 2_500,
  fanout: {
    subscribers: quick ? 200 : 1_000,
    eventsPerSecond: 2_000,
    measureMs: quick ? 2_000 : 5_000,
    /** after publishing stops, how long late events may still arrive and count */
    drainMs: quick ? 2_000 : 5_000,
    subscriberProcesses: 2,
  },
  // packages/pickle runs ~10 s of phases per round: one round, not a median.
  pickleRounds: 1,
};

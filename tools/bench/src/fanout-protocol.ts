// The messages between the fan-out bench (fanout.ts) and its subscriber processes
// (fanout-subscriber.ts): a module of its own, so that importing them does not run a
// subscriber process's code in the parent.

export const MEASURED_SEQ_BASE = 1_000_000;

/** tRPC subscriptions (the SDK's client) or the source document's socket.io events (connectEvents). */
export type FanoutTransport = "trpc" | "socket.io";

/**
 * "report" with `deadline` (epoch ms): report then, or on a later "report" without one,
 * whichever comes first; nothing received after the deadline counts. A fixed deadline
 * keeps the bench bounded when the gateway is overloaded and the backlog would take minutes.
 */
export type ToChild =
  | { type: "start"; url: string; token: string; subscriptions: string[][]; transport: FanoutTransport }
  | {
      type: "report";
      deadline?: number;
      /** Sample staleness (age of each subscriber's newest tick) every 50 ms between these epoch ms. */
      staleness?: { from: number; until: number };
    };
export type FromChild =
  | { type: "ready" }
  | { type: "progress"; received: number; ready: number; errors: number }
  | {
      type: "report";
      received: number[];
      duplicates: number;
      lastReceiptAt: number;
      errors: number;
      reconnects: number;
      /** this process's CPU time so far, ms */
      cpuMs: number;
      histogram: { fine: number[]; coarse: number[] };
      /** ages (ms) of each subscriber's newest measured tick, sampled every 50 ms while publishing */
      staleness: { fine: number[]; coarse: number[] };
    };

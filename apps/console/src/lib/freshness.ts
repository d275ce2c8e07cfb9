import type { ConnectionStatus } from "./connection";

/** A quote is live, stale (shown greyed with the reason) or not there yet. */
export interface Freshness {
  state: "live" | "stale" | "waiting";
  reason: string | null;
  /** Since the last tick arrived, ms; null before the first. */
  ageMs: number | null;
}

export interface FreshnessInputs {
  now: number;
  /** When the last tick for the symbol arrived (local clock, ms); null before the first. */
  lastTickAt: number | null;
  /** No tick for this long counts as stale. */
  staleAfterMs: number;
  /** The gateway's SUB socket state from /health; null when unknown. */
  pubsubState: string | null;
  connection: ConnectionStatus;
}

/**
 * Stale when no tick came for a while, when the gateway says its pub/sub socket is down
 * (ticks could not arrive even if the market moved), or when our own connection is not up.
 */
export function tickFreshness(i: FreshnessInputs): Freshness {
  const ageMs = i.lastTickAt === null ? null : Math.max(0, i.now - i.lastTickAt);
  if (i.connection !== "connected") {
    return { state: "stale", reason: `connection ${i.connection}`, ageMs };
  }
  if (i.pubsubState !== null && i.pubsubState !== "connected") {
    return { state: "stale", reason: `gateway pub/sub ${i.pubsubState}`, ageMs };
  }
  if (ageMs === null) return { state: "waiting", reason: "no tick yet", ageMs };
  if (ageMs > i.staleAfterMs) return { state: "stale", reason: `no tick for ${Math.round(ageMs / 1000)} s`, ageMs };
  return { state: "live", reason: null, ageMs };
}

import type { MarketTick } from "./types";

/** The latest tick of a symbol and when it arrived here (local clock). */
export interface Quote {
  tick: MarketTick;
  receivedAt: number;
}

/** One chart point: seconds since the epoch (lightweight-charts' UTCTimestamp) and a price. */
export interface PricePoint {
  time: number;
  value: number;
}

export interface TickBook {
  /** Records a tick; returns false when it is older than the one already held (a replay after resume). */
  apply(tick: MarketTick, receivedAt: number): boolean;
  quote(symbol: string): Quote | undefined;
  /** Price history for the chart, oldest first, one point per second (the last tick of that second). */
  history(symbol: string): readonly PricePoint[];
  /** Increases on every accepted tick: a cheap change signal for React. */
  readonly version: number;
}

/**
 * Latest quote per symbol plus a bounded price history per symbol. Bounded because a
 * console stays open all day: `maxPoints` per symbol (the oldest fall off).
 */
export function createTickBook(maxPoints = 900): TickBook {
  const quotes = new Map<string, Quote>();
  const histories = new Map<string, PricePoint[]>();
  let version = 0;
  return {
    apply(tick, receivedAt) {
      const held = quotes.get(tick.symbol);
      // seq restarts with a new publisher process; ts decides which is newer.
      if (held && tick.ts < held.tick.ts) return false;
      quotes.set(tick.symbol, { tick, receivedAt });
      const time = Math.floor(Date.parse(tick.ts) / 1000);
      let points = histories.get(tick.symbol);
      if (!points) {
        points = [];
        histories.set(tick.symbol, points);
      }
      const last = points[points.length - 1];
      if (last && last.time === time) last.value = tick.last;
      else if (!last || time > last.time) points.push({ time, value: tick.last });
      if (points.length > maxPoints) points.splice(0, points.length - maxPoints);
      version++;
      return true;
    },
    quote: (symbol) => quotes.get(symbol),
    history: (symbol) => histories.get(symbol) ?? [],
    get version() {
      return version;
    },
  };
}

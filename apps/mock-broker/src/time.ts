/** The clock every timestamp goes through: ISO-8601 with "Z", as the contracts require a zone. */
export type Clock = () => string;

export const systemClock: Clock = () => new Date().toISOString();

/** Rounds money and greeks for the wire: yuan to the fen, no float noise like 0.30000000000000004. */
export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  const r = Math.round(x * f) / f;
  return Object.is(r, -0) ? 0 : r;
}

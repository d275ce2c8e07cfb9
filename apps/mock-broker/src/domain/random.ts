/**
 * A small seeded PRNG so a mock run is reproducible: same seed, same market.
 * mulberry32: 32-bit state, fast, good enough for a simulator (not for crypto).
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Standard normal N(0, 1) (Box-Muller). */
  gaussian(): number;
  /** Integer in [min, max] inclusive. */
  int(min: number, max: number): number;
}

export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  let spare: number | undefined;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const gaussian = (): number => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    // 1 - next() is in (0, 1], so log never sees 0.
    const u = 1 - next();
    const v = next();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1));
  return { next, gaussian, int };
}

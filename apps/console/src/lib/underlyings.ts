/**
 * The ETFs whose options the desk trades (SSE codes; the SZSE twins appear when a
 * position holds them). The gateway has no instrument list to ask, so the console
 * names them; held contracts are added from the positions.
 */
export const UNDERLYINGS: ReadonlyArray<{ code: string; name: string }> = [
  { code: "510050", name: "50ETF" },
  { code: "510300", name: "300ETF" },
  { code: "510500", name: "500ETF" },
  { code: "159915", name: "创业板ETF" },
];

/** Symbols to subscribe to: the underlyings, then every held contract and its underlying, sorted and unique. */
export function marketSymbols(held: ReadonlyArray<{ code: string; underlying: string }>): {
  underlyings: string[];
  contracts: string[];
} {
  const underlyings = new Set(UNDERLYINGS.map((u) => u.code));
  for (const p of held) underlyings.add(p.underlying);
  const contracts = new Set(held.map((p) => p.code));
  return { underlyings: [...underlyings], contracts: [...contracts].sort() };
}

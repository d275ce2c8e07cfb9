/**
 * The ETFs with listed options, and the names a trader types for them.
 * "500" is both 510500 (SSE) and 159922 (SZSE): the SSE listing is the default,
 * a "深"/"sz" prefix or an explicit code picks the other, and a desk may change
 * the default per family with `overrides` (e.g. { "500": "159922" }).
 */
export type Exchange = "SSE" | "SZSE";
/** The index family an alias names; "cyb" is 创业板 (ChiNext). */
export type UnderlyingFamily = "50" | "300" | "500" | "cyb";

export interface Underlying {
  /** Six-digit exchange code, e.g. "510500". */
  code: string;
  exchange: Exchange;
  family: UnderlyingFamily;
  /** Prefix of its options' display names, e.g. "500ETF" in "500ETF购12月6000". */
  name: string;
  /** A realistic starting price for the simulator, yuan. */
  referencePrice: number;
  /** Typical annualised volatility, for the simulator and VaR defaults. */
  referenceVol: number;
}

export const UNDERLYINGS: readonly Underlying[] = [
  { code: "510050", exchange: "SSE", family: "50", name: "50ETF", referencePrice: 2.7, referenceVol: 0.17 },
  { code: "510300", exchange: "SSE", family: "300", name: "300ETF", referencePrice: 3.9, referenceVol: 0.18 },
  { code: "159919", exchange: "SZSE", family: "300", name: "沪深300ETF", referencePrice: 4.0, referenceVol: 0.18 },
  { code: "510500", exchange: "SSE", family: "500", name: "500ETF", referencePrice: 5.9, referenceVol: 0.21 },
  { code: "159922", exchange: "SZSE", family: "500", name: "中证500ETF", referencePrice: 5.9, referenceVol: 0.21 },
  { code: "159915", exchange: "SZSE", family: "cyb", name: "创业板ETF", referencePrice: 2.1, referenceVol: 0.27 },
];

const BY_CODE = new Map(UNDERLYINGS.map((u) => [u.code, u]));

/** Family default when the trader names no exchange. */
const DEFAULT_CODE: Record<UnderlyingFamily, string> = {
  "50": "510050",
  "300": "510300",
  "500": "510500",
  cyb: "159915",
};

const FAMILY_ALIASES: Record<string, UnderlyingFamily> = {
  "50": "50",
  "50etf": "50",
  上证50: "50",
  上证50etf: "50",
  "300": "300",
  "300etf": "300",
  沪深300: "300",
  沪深300etf: "300",
  "500": "500",
  "500etf": "500",
  中证500: "500",
  中证500etf: "500",
  创业板: "cyb",
  创业板etf: "cyb",
  创业: "cyb",
  cyb: "cyb",
  cybetf: "cyb",
};

const EXCHANGE_PREFIXES: ReadonlyArray<[string, Exchange]> = [
  ["深", "SZSE"],
  ["sz", "SZSE"],
  ["沪", "SSE"],
  ["sh", "SSE"],
];

export function underlyingByCode(code: string): Underlying | undefined {
  return BY_CODE.get(code);
}

/** Lower-case, drop spaces and full-width forms, so "500 ETF" and "５００ｅｔｆ" match. */
export function normalizeAlias(text: string): string {
  return text
    .replace(/[\uFF01-\uFF5E]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0))
    .replace(/\s+/g, "")
    .toLowerCase();
}

/**
 * What a trader typed -> the underlying, or undefined if it names none.
 * `overrides` maps a family ("50", "300", "500", "cyb") or an alias to a code,
 * changing the default listing; an explicit code or exchange prefix still wins.
 */
export function resolveUnderlying(
  text: string,
  overrides: Readonly<Record<string, string>> = {},
): Underlying | undefined {
  const alias = normalizeAlias(text);
  const direct = BY_CODE.get(alias);
  if (direct) return direct;
  const overridden = overrides[alias];
  if (overridden !== undefined) return BY_CODE.get(overridden);
  const family = FAMILY_ALIASES[alias];
  if (family) {
    const fromOverride = overrides[family];
    return BY_CODE.get(fromOverride ?? DEFAULT_CODE[family]);
  }
  for (const [prefix, exchange] of EXCHANGE_PREFIXES) {
    if (!alias.startsWith(prefix)) continue;
    const rest = FAMILY_ALIASES[alias.slice(prefix.length)];
    if (!rest) continue;
    return UNDERLYINGS.find((u) => u.family === rest && u.exchange === exchange);
  }
  return undefined;
}

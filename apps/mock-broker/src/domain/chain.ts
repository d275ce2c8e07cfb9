import type { IsoDate } from "./calendar.js";
import type { Month, Right } from "./types.js";
import type { Underlying } from "./underlyings.js";

/**
 * Option chains: strikes on the exchange's grid, contract codes and names.
 *
 * Strike step by price band (SSE/SZSE rule): <=3: 0.05, 3-5: 0.1, 5-10: 0.25,
 * 10-20: 0.5, 20-50: 1, 50-100: 2.5, >100: 5. Bands apply to the strike itself,
 * so a chain crossing 3.0 goes 2.90, 2.95, 3.00, 3.10, 3.20.
 */
export const STANDARD_UNIT = 10_000;
/** Unit of contracts adjusted after a dividend (the exchange keeps the notional, not the unit). */
export const ADJUSTED_UNIT = 10_153;

export interface OptionContract {
  /** Eight-digit contract code, e.g. "10500123". */
  code: string;
  /** Display name, e.g. "500ETF购12月6000" ("A" appended for adjusted contracts). */
  name: string;
  underlying: string;
  right: Right;
  strike: number;
  month: Month;
  /** Calendar month number of the expiry, 1..12. */
  monthNumber: number;
  expiry: IsoDate;
  /** Contract multiplier: 10000, or e.g. 10153 for an adjusted contract. Always read it per contract. */
  unit: number;
  adjusted: boolean;
}

export interface OptionChain {
  underlying: Underlying;
  month: Month;
  monthNumber: number;
  expiry: IsoDate;
  /** Standard (unadjusted) strikes, ascending. ATM/OTM/ITM helpers work on these. */
  strikes: number[];
  contracts: OptionContract[];
}

const BANDS: ReadonlyArray<[upTo: number, step: number]> = [
  [3, 0.05],
  [5, 0.1],
  [10, 0.25],
  [20, 0.5],
  [50, 1],
  [100, 2.5],
];

/** Strike step for a price, by the band the price falls in (band upper bounds inclusive). */
export function strikeStep(price: number): number {
  for (const [upTo, step] of BANDS) if (price <= upTo + 1e-9) return step;
  return 5;
}

/** Round away float noise: strikes are exact to 0.001 yuan. */
export function roundStrike(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function stepAbove(strike: number): number {
  return strikeStep(strike + 1e-6);
}

function stepBelow(strike: number): number {
  return strikeStep(strike - 1e-6);
}

/** The grid strike nearest to a price. */
export function gridStrikeNear(price: number): number {
  const step = strikeStep(price);
  return roundStrike(Math.round(price / step) * step);
}

/** ATM strike plus `eachSide` strikes below and above it, ascending. */
export function strikeGrid(spot: number, eachSide = 5): number[] {
  const atm = gridStrikeNear(spot);
  const below: number[] = [];
  let k = atm;
  for (let i = 0; i < eachSide; i++) {
    k = roundStrike(k - stepBelow(k));
    if (k <= 0) break;
    below.unshift(k);
  }
  const above: number[] = [];
  k = atm;
  for (let i = 0; i < eachSide; i++) {
    k = roundStrike(k + stepAbove(k));
    above.push(k);
  }
  return [...below, atm, ...above];
}

/** The strike in `strikes` nearest to `price` (lower one on a tie). */
export function nearestStrike(strikes: readonly number[], price: number): number {
  if (strikes.length === 0) throw new RangeError("empty strike list");
  let best = strikes[0]!;
  for (const k of strikes) if (Math.abs(k - price) < Math.abs(best - price) - 1e-12) best = k;
  return best;
}

export function atmStrike(strikes: readonly number[], spot: number): number {
  return nearestStrike(strikes, spot);
}

/**
 * `steps` strikes out of the money from ATM: above ATM for a call, below for a
 * put. Undefined if the chain has no strike that far out.
 */
export function otmStrike(strikes: readonly number[], spot: number, right: Right, steps: number): number | undefined {
  const i = strikes.indexOf(atmStrike(strikes, spot));
  return strikes[right === "call" ? i + steps : i - steps];
}

/** `steps` strikes in the money from ATM: below ATM for a call, above for a put. */
export function itmStrike(strikes: readonly number[], spot: number, right: Right, steps: number): number | undefined {
  return otmStrike(strikes, spot, right === "call" ? "put" : "call", steps);
}

const FAMILY_DIGIT: Record<string, number> = {
  "510050": 0,
  "510300": 1,
  "159919": 1,
  "510500": 2,
  "159922": 2,
  "159915": 3,
};

/**
 * A deterministic eight-digit code: exchange (1 SSE, 9 SZSE), family*2+adjusted,
 * two-digit expiry month, right (0 call, 1 put), strike in 0.05 steps mod 1000.
 * Unique within the listed months (they span less than a year, so the month
 * number identifies the expiry) for strikes below 50 yuan, which covers every
 * ETF here. Real exchange codes are sequence numbers; only the shape matches.
 */
export function contractCode(
  underlying: Underlying,
  monthNumber: number,
  right: Right,
  strike: number,
  adjusted: boolean,
): string {
  const exchange = underlying.exchange === "SSE" ? "1" : "9";
  const family = (FAMILY_DIGIT[underlying.code] ?? 0) * 2 + (adjusted ? 1 : 0);
  const slot = Math.round(strike / 0.05) % 1000;
  return `${exchange}${family}${String(monthNumber).padStart(2, "0")}${right === "call" ? 0 : 1}${String(slot).padStart(3, "0")}`;
}

export function contractName(
  underlying: Underlying,
  right: Right,
  monthNumber: number,
  strike: number,
  adjusted: boolean,
): string {
  return `${underlying.name}${right === "call" ? "购" : "沽"}${monthNumber}月${Math.round(strike * 1000)}${adjusted ? "A" : ""}`;
}

export interface BuildChainOptions {
  underlying: Underlying;
  month: Month;
  monthNumber: number;
  expiry: IsoDate;
  /** Underlying price the strikes are centred on. */
  spot: number;
  strikesEachSide?: number;
}

/**
 * One listed month's chain. Quarterly months were listed before the (mock)
 * dividend, so they also carry adjusted contracts: the three strikes around ATM
 * re-struck to strike x 10000/10153 with unit 10153 and an "A" in
 * the name, as the exchange does. Helpers that pick strikes use standard ones.
 */
export function buildChain(o: BuildChainOptions): OptionChain {
  const strikes = strikeGrid(o.spot, o.strikesEachSide ?? 5);
  const contracts: OptionContract[] = [];
  const add = (right: Right, strike: number, adjusted: boolean, slotStrike: number): void => {
    contracts.push({
      code: contractCode(o.underlying, o.monthNumber, right, slotStrike, adjusted),
      name: contractName(o.underlying, right, o.monthNumber, strike, adjusted),
      underlying: o.underlying.code,
      right,
      strike,
      month: o.month,
      monthNumber: o.monthNumber,
      expiry: o.expiry,
      unit: adjusted ? ADJUSTED_UNIT : STANDARD_UNIT,
      adjusted,
    });
  };
  for (const k of strikes) for (const right of ["call", "put"] as const) add(right, k, false, k);
  if (o.month === "current_quarter" || o.month === "next_quarter") {
    const atm = atmStrike(strikes, o.spot);
    const i = strikes.indexOf(atm);
    for (const k of strikes.slice(Math.max(0, i - 1), i + 2)) {
      const adjustedStrike = roundStrike((k * STANDARD_UNIT) / ADJUSTED_UNIT);
      for (const right of ["call", "put"] as const) add(right, adjustedStrike, true, k);
    }
  }
  return { underlying: o.underlying, month: o.month, monthNumber: o.monthNumber, expiry: o.expiry, strikes, contracts };
}

export function findContract(chain: OptionChain, right: Right, strike: number): OptionContract | undefined {
  return chain.contracts.find((c) => !c.adjusted && c.right === right && Math.abs(c.strike - strike) < 1e-9);
}

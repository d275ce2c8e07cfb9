import { atmStrike, findContract, itmStrike, nearestStrike, type OptionContract, otmStrike } from "./chain.js";
import type { Market, OptionQuote } from "./market.js";
import type { Month, Right, Side, SingleInstruction, Size, StraddleInstruction, StrikeSelector } from "./types.js";

/**
 * From an instruction to the orders that carry it out: which contracts, which
 * side, how many lots. Sizes in risk terms are converted with the current
 * quotes' per-lot greeks. Anything that would need a guess (a strike not
 * listed, a size below one lot) is an error, not a nearby substitute.
 */
export interface PlannedLeg {
  contract: OptionContract;
  side: Side;
  lots: number;
  /** The quote the size was computed from. */
  quote: OptionQuote;
}

export type PlanResult = { ok: true; legs: PlannedLeg[] } | { ok: false; error: string };

type MarketView = Pick<Market, "chain" | "spot" | "quote">;

const fmt = (x: number, digits = 0): string => x.toFixed(digits);

/**
 * Lots per leg for a size, given the per-lot exposure of one "unit" of the
 * trade (for a straddle: one call plus one put). Undefined if it rounds to 0.
 */
export function lotsForSize(size: Size, perLot: { vega: number; cashDelta: number }): number | undefined {
  if (size.unit === "lots") return size.value;
  const per = Math.abs(size.unit === "vega" ? perLot.vega : perLot.cashDelta);
  if (!(per > 0)) return undefined;
  const lots = Math.round(size.value / per);
  return lots >= 1 ? lots : undefined;
}

function pickStrike(strikes: readonly number[], spot: number, right: Right, s: StrikeSelector): number | undefined {
  switch (s.kind) {
    case "atm":
      return atmStrike(strikes, spot);
    case "otm":
      return otmStrike(strikes, spot, right, s.steps);
    case "itm":
      return itmStrike(strikes, spot, right, s.steps);
    case "price": {
      const k = nearestStrike(strikes, s.price);
      return Math.abs(k - s.price) < 1e-6 ? k : undefined;
    }
  }
}

function describeStrike(s: StrikeSelector): string {
  if (s.kind === "atm") return "ATM";
  if (s.kind === "price") return `strike ${s.price.toFixed(3)}`;
  return `${s.steps} step(s) ${s.kind === "otm" ? "out of" : "in"} the money`;
}

function legsFor(
  market: MarketView,
  underlying: string,
  month: Month,
  wanted: ReadonlyArray<{ right: Right; strike: StrikeSelector }>,
): { ok: true; legs: Array<{ contract: OptionContract; quote: OptionQuote }> } | { ok: false; error: string } {
  const chain = market.chain(underlying, month);
  const spot = market.spot(underlying);
  if (!chain || spot === undefined) return { ok: false, error: `no ${month} options listed on ${underlying}` };
  const legs: Array<{ contract: OptionContract; quote: OptionQuote }> = [];
  for (const w of wanted) {
    const k = pickStrike(chain.strikes, spot, w.right, w.strike);
    const contract = k === undefined ? undefined : findContract(chain, w.right, k);
    const quote = contract && market.quote(contract.code);
    if (!contract || !quote) {
      return {
        ok: false,
        error: `no ${w.right} ${describeStrike(w.strike)} listed on ${underlying} ${month} (strikes ${chain.strikes.join(", ")}; spot ${spot})`,
      };
    }
    legs.push({ contract, quote });
  }
  return { ok: true, legs };
}

export function planLegs(instruction: StraddleInstruction | SingleInstruction, market: MarketView): PlanResult {
  const wanted: Array<{ right: Right; strike: StrikeSelector }> =
    instruction.type === "single"
      ? [{ right: instruction.right, strike: instruction.strike }]
      : (["call", "put"] as const).map((right) => ({
          right,
          strike: instruction.otmSteps > 0 ? { kind: "otm", steps: instruction.otmSteps } : { kind: "atm" },
        }));
  const found = legsFor(market, instruction.underlying, instruction.month, wanted);
  if (!found.ok) return found;
  const perLot = found.legs.reduce(
    (acc, l) => ({ vega: acc.vega + l.quote.vegaPerLot, cashDelta: acc.cashDelta + l.quote.cashDeltaPerLot }),
    { vega: 0, cashDelta: 0 },
  );
  if (instruction.type === "straddle" && instruction.size.unit === "delta") {
    return { ok: false, error: "a straddle cannot be sized by delta; use lots or vega" };
  }
  const lots = lotsForSize(instruction.size, perLot);
  if (lots === undefined) {
    const per =
      instruction.size.unit === "vega"
        ? `${fmt(perLot.vega, 1)} yuan vega`
        : `${fmt(Math.abs(perLot.cashDelta))} yuan delta`;
    return {
      ok: false,
      error: `${instruction.size.value} yuan of ${instruction.size.unit} is less than one lot (${per} per lot)`,
    };
  }
  return { ok: true, legs: found.legs.map((l) => ({ ...l, side: instruction.side, lots })) };
}

/** For a roll: the same right in another month, at the listed strike nearest the old one. */
export function rollTarget(
  contract: OptionContract,
  to: Month,
  market: Pick<Market, "chain">,
): OptionContract | undefined {
  const chain = market.chain(contract.underlying, to);
  if (!chain) return undefined;
  return findContract(chain, contract.right, nearestStrike(chain.strikes, contract.strike));
}

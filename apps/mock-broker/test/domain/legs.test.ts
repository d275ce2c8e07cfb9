import { describe, expect, it } from "vitest";
import {
  createMarket,
  lotsForSize,
  parseInstructions,
  planLegs,
  rollTarget,
  type SingleInstruction,
  type StraddleInstruction,
} from "../../src/domain/index.js";

const today = "2025-11-25";
const market = createMarket({ seed: 5, today, underlyings: ["510500", "510300"] });

function parseOne(text: string): StraddleInstruction | SingleInstruction {
  const r = parseInstructions(text, { today });
  if (!r.ok) throw new Error(r.error.message);
  const i = r.instructions[0]!;
  if (i.type !== "straddle" && i.type !== "single") throw new Error(`not a leg instruction: ${text}`);
  return i;
}

describe("lotsForSize", () => {
  it("converts sizes to lots", () => {
    expect(lotsForSize({ unit: "lots", value: 7 }, { vega: 100, cashDelta: 1 })).toBe(7);
    expect(lotsForSize({ unit: "vega", value: 10_000 }, { vega: 250, cashDelta: 0 })).toBe(40);
    expect(lotsForSize({ unit: "delta", value: 50_000 }, { vega: 0, cashDelta: -20_000 })).toBe(3);
    expect(lotsForSize({ unit: "vega", value: 100 }, { vega: 250, cashDelta: 0 })).toBeUndefined();
  });
});

describe("planLegs", () => {
  it("sells the ATM call and put of a straddle, sized to the vega asked for", () => {
    const plan = planLegs(parseOne("双卖 500 当月 万1 的v"), market);
    if (!plan.ok) throw new Error(plan.error);
    expect(plan.legs.map((l) => [l.contract.right, l.side])).toEqual([
      ["call", "sell"],
      ["put", "sell"],
    ]);
    const [call, put] = plan.legs as [(typeof plan.legs)[0], (typeof plan.legs)[0]];
    expect(call.contract.strike).toBe(put.contract.strike);
    expect(call.lots).toBe(put.lots);
    const vega = call.lots * (call.quote.vegaPerLot + put.quote.vegaPerLot);
    expect(Math.abs(vega - 10_000)).toBeLessThanOrEqual((call.quote.vegaPerLot + put.quote.vegaPerLot) / 2);
  });

  it("puts a strangle's legs out of the money on each side", () => {
    const plan = planLegs(parseOne("双买 300 下月 虚二档 10手"), market);
    if (!plan.ok) throw new Error(plan.error);
    const spot = market.spot("510300")!;
    const [call, put] = plan.legs as [(typeof plan.legs)[0], (typeof plan.legs)[0]];
    expect(call.contract.strike).toBeGreaterThan(spot);
    expect(put.contract.strike).toBeLessThan(spot);
    expect(plan.legs.every((l) => l.lots === 10 && l.side === "buy")).toBe(true);
  });

  it("takes an explicit listed strike and refuses an unlisted one", () => {
    const ok = planLegs(parseOne("买购 500 当月 6.0 3手"), market);
    expect(ok.ok && ok.legs[0]!.contract.name).toMatch(/^500ETF购11月6000$/);
    const bad = planLegs(parseOne("买购 500 当月 6.1 3手"), market);
    expect(bad).toMatchObject({ ok: false, error: expect.stringMatching(/strike 6\.100/) });
  });

  it("sizes a single leg by cash delta and refuses sizes below one lot", () => {
    const plan = planLegs(parseOne("买购 500 当月 平值 delta 50万"), market);
    if (!plan.ok) throw new Error(plan.error);
    const leg = plan.legs[0]!;
    expect(Math.abs(leg.lots * leg.quote.cashDeltaPerLot - 500_000)).toBeLessThanOrEqual(leg.quote.cashDeltaPerLot / 2);
    expect(planLegs(parseOne("双卖 500 当月 1v"), market)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/less than one lot/),
    });
  });

  it("refuses an underlying the market does not list", () => {
    expect(planLegs(parseOne("双卖 50 当月 10手"), market)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/510050/),
    });
  });
});

describe("rollTarget", () => {
  it("finds the same right at the nearest strike in the target month", () => {
    const from = market.chain("510500", "current")!.contracts.find((c) => c.right === "put" && !c.adjusted)!;
    const to = rollTarget(from, "next", market)!;
    expect(to.month).toBe("next");
    expect(to.right).toBe("put");
    expect(to.strike).toBe(from.strike);
  });
});

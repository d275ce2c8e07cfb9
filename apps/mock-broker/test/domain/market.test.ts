import { describe, expect, it } from "vitest";
import { createMarket, impliedVol, resolveMonth } from "../../src/domain/index.js";

const today = "2025-11-25";

describe("market simulator", () => {
  it("is deterministic for a seed and differs across seeds", () => {
    const a = createMarket({ seed: 7, today });
    const b = createMarket({ seed: 7, today });
    const c = createMarket({ seed: 8, today });
    for (let i = 0; i < 25; i++) {
      a.step();
      b.step();
      c.step();
    }
    expect(a.snapshot()).toEqual(b.snapshot());
    expect(a.snapshot().underlyings).not.toEqual(c.snapshot().underlyings);
  });

  it("starts near realistic prices and lists every month's chain", () => {
    const m = createMarket({ seed: 1, today });
    for (const [code, ref] of [
      ["510050", 2.7],
      ["510300", 3.9],
      ["510500", 5.9],
      ["159915", 2.1],
    ] as const) {
      expect(Math.abs(m.spot(code)! / ref - 1)).toBeLessThan(0.011);
    }
    expect(m.chains()).toHaveLength(6 * 4);
    const chain = m.chain("510500", "next")!;
    expect(chain.expiry).toBe(resolveMonth("next", today).expiry);
    expect(chain.contracts[0]!.name).toMatch(/^500ETF[购沽]12月\d{4}$/);
  });

  it("quotes bid < ask around a theoretical price whose IV round-trips", () => {
    const m = createMarket({ seed: 3, today, underlyings: ["510500"] });
    for (let i = 0; i < 10; i++) m.step();
    const snap = m.snapshot();
    expect(snap.tick).toBe(10);
    expect(snap.options.length).toBeGreaterThan(0);
    for (const q of snap.options) {
      expect(q.bid).toBeLessThan(q.ask);
      expect(q.bid).toBeLessThanOrEqual(q.theo + 1e-12);
      expect(q.ask).toBeGreaterThanOrEqual(q.theo - 1e-12);
      expect(q.iv).toBeGreaterThan(0.05);
      expect(q.iv).toBeLessThan(1);
      expect(q.vegaPerLot).toBeCloseTo((q.greeks.vega * q.unit) / 100, 9);
      if (q.greeks.vega > 1e-3) {
        expect(
          impliedVol({ right: q.right, spot: q.spot, strike: q.strike, years: q.years, price: q.theo, rate: m.rate }),
        ).toBeCloseTo(q.iv, 5);
      }
    }
  });

  it("has a put skew: OTM puts trade at a higher IV than ATM", () => {
    const m = createMarket({ seed: 3, today, underlyings: ["510500"] });
    const chain = m.chain("510500", "next")!;
    const spot = m.spot("510500")!;
    const atm = chain.strikes.reduce((a, k) => (Math.abs(k - spot) < Math.abs(a - spot) ? k : a));
    const low = chain.strikes[0]!;
    const q = (k: number) =>
      m.snapshot().options.find((o) => o.month === "next" && o.right === "put" && !o.adjusted && o.strike === k)!;
    expect(q(low).iv).toBeGreaterThan(q(atm).iv);
  });

  it("moves prices over ticks but keeps them sane", () => {
    const m = createMarket({ seed: 11, today, secondsPerTick: 600 });
    const start = m.spot("510500")!;
    for (let i = 0; i < 200; i++) m.step();
    const end = m.spot("510500")!;
    expect(end).not.toBe(start);
    expect(end / start).toBeGreaterThan(0.7);
    expect(end / start).toBeLessThan(1.4);
    const u = m.underlyingQuote("510500")!;
    expect(u.bid).toBeLessThan(u.ask);
    expect(u.changePct).toBeCloseTo((u.last / u.prevClose - 1) * 100, 3);
  });

  it("refuses an unknown underlying and answers undefined for unknown codes", () => {
    expect(() => createMarket({ underlyings: ["600000"] })).toThrow(/600000/);
    const m = createMarket({ seed: 1, today, underlyings: ["510050"] });
    expect(m.quote("nope")).toBeUndefined();
    expect(m.spot("510500")).toBeUndefined();
    const code = m.chain("510050", "current")!.contracts[0]!.code;
    expect(m.contract(code)?.underlying).toBe("510050");
    expect(m.quote(code)?.code).toBe(code);
  });
});

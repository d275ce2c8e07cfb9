import { describe, expect, it } from "vitest";
import { bsGreeks, bsPrice, impliedVol, normCdf, thetaPerTradingDay, vegaPerVolPoint } from "../../src/domain/index.js";

describe("Black-Scholes", () => {
  it("matches Hull's textbook example (S 42, K 40, r 10%, vol 20%, T 0.5)", () => {
    const base = { spot: 42, strike: 40, years: 0.5, vol: 0.2, rate: 0.1 };
    expect(bsPrice({ ...base, right: "call" })).toBeCloseTo(4.7594, 3);
    expect(bsPrice({ ...base, right: "put" })).toBeCloseTo(0.8086, 3);
  });

  it("satisfies put-call parity across strikes and vols", () => {
    for (const strike of [4.5, 5.5, 6, 6.5, 7.5]) {
      for (const vol of [0.1, 0.25, 0.6]) {
        const i = { spot: 5.9, strike, years: 30 / 240, vol, rate: 0.02 };
        const c = bsPrice({ ...i, right: "call" });
        const p = bsPrice({ ...i, right: "put" });
        expect(c - p).toBeCloseTo(5.9 - strike * Math.exp(-0.02 * i.years), 9);
      }
    }
  });

  it("has the textbook greek signs and call/put relations", () => {
    const i = { spot: 5.9, strike: 6, years: 20 / 240, vol: 0.22, rate: 0.02 };
    const c = bsGreeks({ ...i, right: "call" });
    const p = bsGreeks({ ...i, right: "put" });
    expect(c.delta).toBeGreaterThan(0);
    expect(p.delta).toBeLessThan(0);
    expect(c.delta - p.delta).toBeCloseTo(1, 9);
    expect(c.gamma).toBeCloseTo(p.gamma, 12);
    expect(c.vega).toBeCloseTo(p.vega, 12);
    expect(c.theta).toBeLessThan(0);
    // Vega against a finite difference of the price.
    const up = bsPrice({ ...i, right: "call", vol: 0.2201 });
    const down = bsPrice({ ...i, right: "call", vol: 0.2199 });
    expect((up - down) / 0.0002).toBeCloseTo(c.vega, 5);
  });

  it("is worth intrinsic at expiry", () => {
    expect(bsPrice({ right: "call", spot: 6.2, strike: 6, years: 0, vol: 0.2 })).toBeCloseTo(0.2, 12);
    expect(bsPrice({ right: "put", spot: 6.2, strike: 6, years: 0, vol: 0.2 })).toBe(0);
  });

  it("recovers the vol it priced with (implied vol round trip)", () => {
    for (const right of ["call", "put"] as const) {
      for (const strike of [4.9, 5.5, 6, 6.5, 7.25]) {
        for (const vol of [0.08, 0.2, 0.45, 1.2]) {
          const i = { right, spot: 5.9, strike, years: 45 / 240, rate: 0.02 };
          const g = bsGreeks({ ...i, vol });
          // Deep in/out of the money at low vol the price no longer depends on vol.
          if (g.vega < 1e-4) continue;
          expect(impliedVol({ ...i, price: g.price })).toBeCloseTo(vol, 5);
        }
      }
    }
  });

  it("refuses prices outside the no-arbitrage bounds", () => {
    const i = { right: "call" as const, spot: 5.9, strike: 6, years: 0.1, rate: 0.02 };
    expect(impliedVol({ ...i, price: 6 })).toBeNull(); // above the spot
    expect(impliedVol({ ...i, price: 0 })).toBeNull();
    expect(impliedVol({ ...i, years: 0, price: 0.1 })).toBeNull();
    expect(impliedVol({ right: "call", spot: 6.5, strike: 6, years: 0.1, price: 0.3 })).toBeNull(); // below intrinsic
  });

  it("converts to desk units: vega per vol point, theta per trading day", () => {
    expect(vegaPerVolPoint(0.8, 10_000)).toBe(80);
    expect(thetaPerTradingDay(-1.2, 10_000)).toBe(-50);
    expect(normCdf(0)).toBeCloseTo(0.5, 7);
    expect(normCdf(1.645)).toBeCloseTo(0.95, 3);
  });
});

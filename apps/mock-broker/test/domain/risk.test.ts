import { describe, expect, it } from "vitest";
import {
  accountRisk,
  bsGreeks,
  deltaGammaVar,
  positionGreeks,
  type RiskPosition,
  Z_95,
  Z_99,
} from "../../src/domain/index.js";

function leg(right: "call" | "put", strike: number, qty: number, spot = 5.9, underlying = "510500"): RiskPosition {
  const g = bsGreeks({ right, spot, strike, years: 20 / 240, vol: 0.22 });
  return {
    underlying,
    qty,
    unit: 10_000,
    spot,
    delta: g.delta,
    gamma: g.gamma,
    vega: g.vega,
    theta: g.theta,
    price: g.price,
  };
}

describe("position greeks", () => {
  it("uses the desk's cash conventions", () => {
    const p = leg("call", 6, 10);
    const r = positionGreeks(p);
    expect(r.cashDelta).toBeCloseTo(p.delta * 5.9 * 10_000 * 10, 6);
    expect(r.cashGamma).toBeCloseTo((p.gamma * 5.9 * 5.9 * 10_000 * 10) / 100, 6);
    expect(r.vega).toBeCloseTo((p.vega * 10_000 * 10) / 100, 6);
    expect(r.theta).toBeCloseTo((p.theta * 10_000 * 10) / 240, 6);
    expect(r.marketValue).toBeCloseTo(p.price! * 10_000 * 10, 6);
  });

  it("cash gamma is the change in cash delta for a 1% move", () => {
    const at = (spot: number) => {
      const g = bsGreeks({ right: "call", spot, strike: 6, years: 20 / 240, vol: 0.22 });
      return g.delta * spot * 10_000;
    };
    const r = positionGreeks(leg("call", 6, 1));
    // d(cashDelta)/d(1%) = Γ·S²·unit/100 + Δ·S·unit/100; the second term is delta's own drift, so compare the gamma part.
    const numeric = (at(5.9 * 1.0001) - at(5.9 * 0.9999)) / 0.02 - r.cashDelta / 100;
    expect(r.cashGamma).toBeCloseTo(numeric, 0);
  });

  it("gives a short straddle negative gamma and vega and positive theta", () => {
    const risk = accountRisk([leg("call", 6, -10), leg("put", 6, -10)]);
    const u = risk.byUnderlying[0]!;
    expect(u.cashGamma).toBeLessThan(0);
    expect(u.vega).toBeLessThan(0);
    expect(u.theta).toBeGreaterThan(0);
    expect(u.marketValue).toBeLessThan(0);
    expect(u.var95).toBeGreaterThan(0);
    expect(u.var99).toBeGreaterThan(u.var95);
  });

  it("a long straddle has positive gamma and vega and negative theta", () => {
    const u = accountRisk([leg("call", 6, 10), leg("put", 6, 10)]).byUnderlying[0]!;
    expect(u.cashGamma).toBeGreaterThan(0);
    expect(u.vega).toBeGreaterThan(0);
    expect(u.theta).toBeLessThan(0);
  });
});

describe("VaR", () => {
  it("is delta x z x daily vol for a linear book, as a positive loss", () => {
    expect(deltaGammaVar(1_000_000, 0, 0.01, Z_95)).toBeCloseTo(16_450, 6);
    expect(deltaGammaVar(-1_000_000, 0, 0.01, Z_99)).toBeCloseTo(23_260, 6);
    expect(deltaGammaVar(0, 0, 0.01, Z_99)).toBe(0);
  });

  it("sees the loss of a delta-neutral short-gamma book that delta-only VaR misses", () => {
    // cashGamma -50,000 per 1%: a 2% move in either direction loses 0.5 x 5,000,000 x 0.0004 = 1,000.
    expect(deltaGammaVar(0, -50_000, 0.02 / Z_95, Z_95)).toBeCloseTo(1_000, 6);
    // Long gamma and flat delta: no move in range loses money.
    expect(deltaGammaVar(0, 50_000, 0.02, Z_95)).toBe(0);
  });

  it("finds the worst point inside the range for a long-gamma book with delta", () => {
    // P&L(r) = 10,000 r + 0.5 x 1,000,000 r²: worst at r = -0.01 (inside ±0.0329): -50.
    expect(deltaGammaVar(10_000, 10_000, 0.02, Z_95)).toBeCloseTo(50, 6);
  });

  it("adds per-underlying VaR into the total and uses per-underlying vols", () => {
    const risk = accountRisk([leg("call", 6, -10), leg("put", 2.7, -20, 2.7, "510050")], {
      vols: { "510500": 0.25, "510050": 0.15 },
    });
    expect(risk.byUnderlying.map((u) => u.underlying)).toEqual(["510050", "510500"]);
    expect(risk.byUnderlying[0]!.dailyVol).toBeCloseTo(0.15 / Math.sqrt(240), 12);
    const [a, b] = risk.byUnderlying as [(typeof risk.byUnderlying)[0], (typeof risk.byUnderlying)[0]];
    expect(risk.total.var99).toBeCloseTo(a.var99 + b.var99, 9);
    expect(risk.total.vega).toBeCloseTo(a.vega + b.vega, 9);
    expect(risk.total.cashDelta).toBeCloseTo(a.cashDelta + b.cashDelta, 9);
  });
});

import { describe, expect, it } from "vitest";
import {
  ADJUSTED_UNIT,
  atmStrike,
  buildChain,
  findContract,
  itmStrike,
  nearestStrike,
  otmStrike,
  strikeGrid,
  strikeStep,
  underlyingByCode,
} from "../../src/domain/index.js";

describe("strike steps", () => {
  it.each([
    [1.2, 0.05],
    [2.7, 0.05],
    [3, 0.05],
    [3.01, 0.1],
    [3.9, 0.1],
    [5, 0.1],
    [5.9, 0.25],
    [10, 0.25],
    [15, 0.5],
    [20, 0.5],
    [35, 1],
    [50, 1],
    [75, 2.5],
    [100, 2.5],
    [150, 5],
  ])("price %s -> step %s", (price, step) => {
    expect(strikeStep(price)).toBe(step);
  });

  it("builds grids per band, changing step where a band ends", () => {
    expect(strikeGrid(2.7)).toEqual([2.45, 2.5, 2.55, 2.6, 2.65, 2.7, 2.75, 2.8, 2.85, 2.9, 2.95]);
    expect(strikeGrid(2.98)).toEqual([2.75, 2.8, 2.85, 2.9, 2.95, 3, 3.1, 3.2, 3.3, 3.4, 3.5]);
    expect(strikeGrid(5.9)).toEqual([4.9, 5, 5.25, 5.5, 5.75, 6, 6.25, 6.5, 6.75, 7, 7.25]);
    expect(strikeGrid(14.2, 2)).toEqual([13, 13.5, 14, 14.5, 15]);
    expect(strikeGrid(33.4, 2)).toEqual([31, 32, 33, 34, 35]);
    expect(strikeGrid(77, 2)).toEqual([72.5, 75, 77.5, 80, 82.5]);
    expect(strikeGrid(212, 2)).toEqual([200, 205, 210, 215, 220]);
  });
});

describe("strike pickers", () => {
  const strikes = strikeGrid(5.9);
  it("finds ATM, OTM and ITM strikes per right", () => {
    expect(atmStrike(strikes, 5.9)).toBe(6);
    expect(otmStrike(strikes, 5.9, "call", 1)).toBe(6.25);
    expect(otmStrike(strikes, 5.9, "put", 1)).toBe(5.75);
    expect(otmStrike(strikes, 5.9, "put", 2)).toBe(5.5);
    expect(itmStrike(strikes, 5.9, "call", 1)).toBe(5.75);
    expect(itmStrike(strikes, 5.9, "put", 1)).toBe(6.25);
    expect(otmStrike(strikes, 5.9, "call", 9)).toBeUndefined();
    expect(nearestStrike(strikes, 6.1)).toBe(6);
    expect(nearestStrike(strikes, 6.13)).toBe(6.25);
  });
});

describe("chains", () => {
  const u = underlyingByCode("510500")!;
  const monthly = buildChain({ underlying: u, month: "next", monthNumber: 12, expiry: "2025-12-24", spot: 5.9 });
  const quarterly = buildChain({
    underlying: u,
    month: "current_quarter",
    monthNumber: 3,
    expiry: "2026-03-25",
    spot: 5.9,
  });

  it("lists a call and a put per strike with names and 8-digit codes", () => {
    expect(monthly.contracts).toHaveLength(22);
    const call = findContract(monthly, "call", 6)!;
    const put = findContract(monthly, "put", 6)!;
    expect(call.name).toBe("500ETF购12月6000");
    expect(put.name).toBe("500ETF沽12月6000");
    expect(call.unit).toBe(10_000);
    for (const c of [...monthly.contracts, ...quarterly.contracts]) expect(c.code).toMatch(/^\d{8}$/);
    const codes = new Set([...monthly.contracts, ...quarterly.contracts].map((c) => c.code));
    expect(codes.size).toBe(monthly.contracts.length + quarterly.contracts.length);
  });

  it("is deterministic", () => {
    const again = buildChain({ underlying: u, month: "next", monthNumber: 12, expiry: "2025-12-24", spot: 5.9 });
    expect(again).toEqual(monthly);
  });

  it("adds adjusted contracts (unit 10153, name with A) to quarterly months", () => {
    const adjusted = quarterly.contracts.filter((c) => c.adjusted);
    expect(adjusted.length).toBeGreaterThan(0);
    for (const c of adjusted) {
      expect(c.unit).toBe(ADJUSTED_UNIT);
      expect(c.name).toMatch(/^500ETF[购沽]3月\d+A$/);
    }
    expect(adjusted.map((c) => c.strike)).toContain(5.91); // 6.000 x 10000 / 10153
    expect(monthly.contracts.some((c) => c.adjusted)).toBe(false);
  });
});

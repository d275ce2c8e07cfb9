import { describe, expect, it } from "vitest";
import { resolveUnderlying } from "../../src/domain/index.js";

describe("underlying aliases", () => {
  it.each([
    ["50", "510050"],
    ["50etf", "510050"],
    ["50ETF", "510050"],
    ["上证50", "510050"],
    ["300", "510300"],
    ["300etf", "510300"],
    ["沪深300", "510300"],
    ["深300", "159919"],
    ["159919", "159919"],
    ["500", "510500"],
    ["500ETF", "510500"],
    ["中证500", "510500"],
    ["深500", "159922"],
    ["sz500", "159922"],
    ["沪500", "510500"],
    ["159922", "159922"],
    ["510500", "510500"],
    ["创业板", "159915"],
    ["cyb", "159915"],
    ["创业板ETF", "159915"],
    ["５００", "510500"],
  ])("%s -> %s", (alias, code) => {
    expect(resolveUnderlying(alias)?.code).toBe(code);
  });

  it("applies overrides to the family default but not to explicit codes or prefixes", () => {
    const o = { "500": "159922" };
    expect(resolveUnderlying("500", o)?.code).toBe("159922");
    expect(resolveUnderlying("500etf", o)?.code).toBe("159922");
    expect(resolveUnderlying("510500", o)?.code).toBe("510500");
    expect(resolveUnderlying("沪500", o)?.code).toBe("510500");
    expect(resolveUnderlying("300", o)?.code).toBe("510300");
  });

  it("names nothing for unknown aliases", () => {
    for (const a of ["600", "1000", "深50", "恒生", "510051", ""]) expect(resolveUnderlying(a)).toBeUndefined();
  });
});

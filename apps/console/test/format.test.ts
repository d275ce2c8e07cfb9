import { describe, expect, it } from "vitest";
import {
  formatAge,
  formatChange,
  formatMonth,
  formatPercent,
  formatPrice,
  formatQuantity,
  formatSignedYuan,
  formatSize,
  formatStrike,
  formatYuan,
} from "../src/lib/format";

describe("numbers", () => {
  it("groups whole yuan and never prints -0", () => {
    expect(formatYuan(1234567.8)).toBe("1,234,568");
    expect(formatYuan(-0.4)).toBe("0");
    expect(formatYuan(Number.NaN)).toBe("—");
    expect(formatYuan(null)).toBe("—");
  });

  it("signs P&L and greeks, zero unsigned", () => {
    expect(formatSignedYuan(12345.4)).toBe("+12,345");
    expect(formatSignedYuan(-8000)).toBe("-8,000");
    expect(formatSignedYuan(0.3)).toBe("0");
    expect(formatSignedYuan(-0.3)).toBe("0");
  });

  it("prints prices with fixed decimals", () => {
    expect(formatPrice(0.1039)).toBe("0.1039");
    expect(formatPrice(5.9, 3)).toBe("5.900");
    expect(formatPrice(-0.00001, 4)).toBe("0.0000");
    expect(formatPrice(undefined)).toBe("—");
  });

  it("prints changes as signed percentages and fractions as percentages", () => {
    expect(formatChange(0.0123)).toBe("+1.23%");
    expect(formatChange(-0.0044)).toBe("-0.44%");
    expect(formatChange(0.00001)).toBe("0.00%");
    expect(formatPercent(0.5)).toBe("50%");
    expect(formatPercent(0.1834, 1)).toBe("18.3%");
  });

  it("signs quantities", () => {
    expect(formatQuantity(25)).toBe("+25");
    expect(formatQuantity(-40)).toBe("-40");
    expect(formatQuantity(0)).toBe("0");
  });
});

describe("ages", () => {
  it("uses tenths below 10 s, then seconds, minutes, hours", () => {
    expect(formatAge(400)).toBe("0.4 s");
    expect(formatAge(12_300)).toBe("12 s");
    expect(formatAge(185_000)).toBe("3 min");
    expect(formatAge(2 * 3_600_000 + 5)).toBe("2 h");
    expect(formatAge(-50)).toBe("0.0 s");
  });
});

describe("the desk's vocabulary", () => {
  it("names months the way the desk writes them", () => {
    expect(formatMonth("current")).toBe("当月");
    expect(formatMonth("next_quarter")).toBe("下季");
  });

  it("describes sizes and strikes", () => {
    expect(formatSize({ unit: "vega", value: 10_000 })).toBe("vega ¥10,000 / vol pt");
    expect(formatSize({ unit: "lots", value: 1 })).toBe("1 lot");
    expect(formatSize({ unit: "lots", value: 10 })).toBe("10 lots");
    expect(formatSize({ unit: "delta", value: 50_000 })).toBe("cash delta ¥50,000");
    expect(formatStrike({ kind: "atm" })).toBe("ATM");
    expect(formatStrike({ kind: "otm", steps: 1 })).toBe("OTM 1");
    expect(formatStrike({ kind: "price", price: 6 })).toBe("6.000");
  });
});

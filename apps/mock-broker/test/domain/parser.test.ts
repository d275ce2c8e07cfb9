import { Instruction as InstructionSchema } from "@desk/contracts";
import { describe, expect, it } from "vitest";
import { type Instruction, type Month, parseInstructions, type Size } from "../../src/domain/index.js";

const today = "2025-11-25"; // listed: 11月 当月, 12月 下月, 3月 当季, 6月 下季

const vega = (value: number): Size => ({ unit: "vega", value });
const lots = (value: number): Size => ({ unit: "lots", value });
const delta = (value: number): Size => ({ unit: "delta", value });

/** An instruction without its source text (the test adds that). */
type Expected = Instruction extends infer I ? (I extends Instruction ? Omit<I, "text"> : never) : never;

const straddle = (side: "buy" | "sell", underlying: string, month: Month, size: Size, otmSteps = 0): Expected => ({
  type: "straddle",
  side,
  structure: otmSteps > 0 ? "strangle" : "straddle",
  otmSteps,
  underlying,
  month,
  size,
});

const accepted: Array<[string, Expected]> = [
  ["双卖 500 当月 万1 的v", straddle("sell", "510500", "current", vega(10_000))],
  ["双卖500当月万1的v", straddle("sell", "510500", "current", vega(10_000))],
  ["  双卖   500   当月   万1 的v  ", straddle("sell", "510500", "current", vega(10_000))],
  ["双卖 500 当月 1万v", straddle("sell", "510500", "current", vega(10_000))],
  ["双卖 500 当月 1w vega", straddle("sell", "510500", "current", vega(10_000))],
  ["双卖 500 当月 1W Vega", straddle("sell", "510500", "current", vega(10_000))],
  ["双卖 500 当月 5千v", straddle("sell", "510500", "current", vega(5_000))],
  ["双卖 500 当月 2万vega", straddle("sell", "510500", "current", vega(20_000))],
  ["双卖 500 当月 万5的vega", straddle("sell", "510500", "current", vega(50_000))],
  ["双卖 500 当月 1.5万v", straddle("sell", "510500", "current", vega(15_000))],
  ["双卖 500 当月 vega 1万", straddle("sell", "510500", "current", vega(10_000))],
  ["双卖 500 当月 5k vega", straddle("sell", "510500", "current", vega(5_000))],
  ["双卖 500 当月 两万v", straddle("sell", "510500", "current", vega(20_000))],
  ["双卖 500 当月 1 万 v", straddle("sell", "510500", "current", vega(10_000))],
  ["双卖 500 当月 万 1 的 vega", straddle("sell", "510500", "current", vega(10_000))],
  [
    "买购 500 当月 平值 5w delta",
    {
      type: "single",
      side: "buy",
      right: "call",
      underlying: "510500",
      month: "current",
      strike: { kind: "atm" },
      size: delta(50_000),
    },
  ],
  ["双卖 500 当月 10手", straddle("sell", "510500", "current", lots(10))],
  ["双卖 500 当月 20张", straddle("sell", "510500", "current", lots(20))],
  ["双卖 500 当月 10 手", straddle("sell", "510500", "current", lots(10))],
  ["双卖 500 当月 10 lots", straddle("sell", "510500", "current", lots(10))],
  ["双买 300 下月 万1 的v", straddle("buy", "510300", "next", vega(10_000))],
  ["双卖 50 当季 5千v", straddle("sell", "510050", "current_quarter", vega(5_000))],
  ["双买 创业板 下季 10手", straddle("buy", "159915", "next_quarter", lots(10))],
  ["双卖 cyb 当月 1万v", straddle("sell", "159915", "current", vega(10_000))],
  ["双卖 深500 当月 万1 的v", straddle("sell", "159922", "current", vega(10_000))],
  ["双卖 159919 下月 10手", straddle("sell", "159919", "next", lots(10))],
  ["双卖 510500 当月 10手", straddle("sell", "510500", "current", lots(10))],
  ["双卖 500ETF 当月 10手", straddle("sell", "510500", "current", lots(10))],
  ["500 双卖 当月 万1v", straddle("sell", "510500", "current", vega(10_000))],
  ["双卖 当月 500 万1v", straddle("sell", "510500", "current", vega(10_000))],
  ["双卖 万1v 500 当月", straddle("sell", "510500", "current", vega(10_000))],
  ["双卖 500 12月 10手", straddle("sell", "510500", "next", lots(10))],
  ["双卖 500 当月 平值 10手", straddle("sell", "510500", "current", lots(10))],
  ["双卖 500 当月 跨式 10手", straddle("sell", "510500", "current", lots(10))],
  ["双卖 500 当月 宽跨 万1v", straddle("sell", "510500", "current", vega(10_000), 1)],
  ["双卖 500 当月 虚一档 万1v", straddle("sell", "510500", "current", vega(10_000), 1)],
  ["双买 500 下月 宽跨 虚二档 5千v", straddle("buy", "510500", "next", vega(5_000), 2)],
  ["卖宽跨 300 当月 10手", straddle("sell", "510300", "current", lots(10), 1)],
  ["卖出跨式 50 当月 10手", straddle("sell", "510050", "current", lots(10))],
  ["双卖 ５００ 当月 万１的ｖ", straddle("sell", "510500", "current", vega(10_000))],
  ["双卖，500，当月，万1的v", straddle("sell", "510500", "current", vega(10_000))],
  [
    "买购 500 当月 6000 10手",
    {
      type: "single",
      side: "buy",
      right: "call",
      underlying: "510500",
      month: "current",
      strike: { kind: "price", price: 6 },
      size: lots(10),
    },
  ],
  [
    "买购 500 当月 6.0 10手",
    {
      type: "single",
      side: "buy",
      right: "call",
      underlying: "510500",
      month: "current",
      strike: { kind: "price", price: 6 },
      size: lots(10),
    },
  ],
  [
    "卖购 50 下月 2.75 20张",
    {
      type: "single",
      side: "sell",
      right: "call",
      underlying: "510050",
      month: "next",
      strike: { kind: "price", price: 2.75 },
      size: lots(20),
    },
  ],
  [
    "买沽 300 当月 平值 5手",
    {
      type: "single",
      side: "buy",
      right: "put",
      underlying: "510300",
      month: "current",
      strike: { kind: "atm" },
      size: lots(5),
    },
  ],
  [
    "卖沽 500 当月 平值档 10手",
    {
      type: "single",
      side: "sell",
      right: "put",
      underlying: "510500",
      month: "current",
      strike: { kind: "atm" },
      size: lots(10),
    },
  ],
  [
    "卖沽 500 当月 ATM 10手",
    {
      type: "single",
      side: "sell",
      right: "put",
      underlying: "510500",
      month: "current",
      strike: { kind: "atm" },
      size: lots(10),
    },
  ],
  [
    "买购 500 当月 虚一档 10手",
    {
      type: "single",
      side: "buy",
      right: "call",
      underlying: "510500",
      month: "current",
      strike: { kind: "otm", steps: 1 },
      size: lots(10),
    },
  ],
  [
    "买购 500 当月 虚1档 10手",
    {
      type: "single",
      side: "buy",
      right: "call",
      underlying: "510500",
      month: "current",
      strike: { kind: "otm", steps: 1 },
      size: lots(10),
    },
  ],
  [
    "卖沽 50 当季 虚二档 delta 5万",
    {
      type: "single",
      side: "sell",
      right: "put",
      underlying: "510050",
      month: "current_quarter",
      strike: { kind: "otm", steps: 2 },
      size: delta(50_000),
    },
  ],
  [
    "买沽 500 下月 实一档 万5 delta",
    {
      type: "single",
      side: "buy",
      right: "put",
      underlying: "510500",
      month: "next",
      strike: { kind: "itm", steps: 1 },
      size: delta(50_000),
    },
  ],
  [
    "买购 创业板 当月 实值2档 1万v",
    {
      type: "single",
      side: "buy",
      right: "call",
      underlying: "159915",
      month: "current",
      strike: { kind: "itm", steps: 2 },
      size: vega(10_000),
    },
  ],
  [
    "买认购 500 3月 6500 3手",
    {
      type: "single",
      side: "buy",
      right: "call",
      underlying: "510500",
      month: "current_quarter",
      strike: { kind: "price", price: 6.5 },
      size: lots(3),
    },
  ],
  [
    "卖出认沽 300 下月 3900 十手",
    {
      type: "single",
      side: "sell",
      right: "put",
      underlying: "510300",
      month: "next",
      strike: { kind: "price", price: 3.9 },
      size: lots(10),
    },
  ],
  [
    "买购 6000 500 当月 10手",
    {
      type: "single",
      side: "buy",
      right: "call",
      underlying: "510500",
      month: "current",
      strike: { kind: "price", price: 6 },
      size: lots(10),
    },
  ],
  [
    "买购500当月6000 10手",
    {
      type: "single",
      side: "buy",
      right: "call",
      underlying: "510500",
      month: "current",
      strike: { kind: "price", price: 6 },
      size: lots(10),
    },
  ],
  [
    "买购 500 当月 6000 vega 1万",
    {
      type: "single",
      side: "buy",
      right: "call",
      underlying: "510500",
      month: "current",
      strike: { kind: "price", price: 6 },
      size: vega(10_000),
    },
  ],
  ["平仓", { type: "close" }],
  ["全部平仓", { type: "close" }],
  ["全平", { type: "close" }],
  ["平仓 500", { type: "close", underlying: "510500" }],
  ["500 平仓", { type: "close", underlying: "510500" }],
  ["平仓 当月", { type: "close", month: "current" }],
  ["平仓 300 下月", { type: "close", underlying: "510300", month: "next" }],
  ["移仓 当月 到 下月", { type: "roll", from: "current", to: "next" }],
  ["移仓 当月到下月", { type: "roll", from: "current", to: "next" }],
  ["500 移仓 当月到下月", { type: "roll", underlying: "510500", from: "current", to: "next" }],
  ["移仓 下月->当季", { type: "roll", from: "next", to: "current_quarter" }],
  ["移仓 下月 → 当季", { type: "roll", from: "next", to: "current_quarter" }],
  ["移仓 300 当季 下季", { type: "roll", underlying: "510300", from: "current_quarter", to: "next_quarter" }],
  ["展期 创业板 当月至下月", { type: "roll", underlying: "159915", from: "current", to: "next" }],
];

const refused: Array<[text: string, unread: string, message: RegExp]> = [
  ["双卖 500 xyz", "xyz", /cannot read "xyz" in "双卖 500 xyz"/],
  ["双卖 500 当月 万1 的v 谢谢", "谢谢", /cannot read "谢谢"/],
  ["双卖 600 当月 万1v", "600", /unknown underlying "600"/],
  ["双卖 1000etf 当月 万1v", "1000etf", /unknown underlying "1000etf"/],
  ["双卖 深50 当月 万1v", "深50", /unknown underlying "深50"/],
  ["双卖 500 当月", "双卖 500 当月", /missing size/],
  ["买购 500 当月 6000", "买购 500 当月 6000", /missing size/],
  ["双卖 当月 万1v", "双卖 当月 万1v", /missing underlying/],
  ["双卖 500 万1v", "双卖 500 万1v", /missing month/],
  ["买购 500 当月 10手", "买购 500 当月 10手", /missing strike/],
  ["双卖 500 当月 10", "10", /cannot read "10".*size needs a unit/],
  ["双卖 500 当月 万1", "万1", /cannot read "万1".*no unit/],
  ["买购 500 当月 600 10手", "600", /cannot read "600".*strike/],
  ["双卖 500 7月 10手", "7月", /cannot read "7月".*not a listed month/],
  ["平仓 500 10手", "10手", /cannot read "10手".*平仓 takes no size/],
  ["移仓 500", "移仓 500", /missing the month to roll from/],
  ["移仓 到 下月", "到", /cannot read "到".*移仓 <from> 到 <to>/],
  ["移仓 当月", "移仓 当月", /missing the month to roll to/],
  ["移仓 当月 到 当月", "当月", /already 当月/],
  ["双卖 500 当月 万1v 买购 300 当月 平值 10手", "买购 300 当月 平值 10手", /one instruction per line/],
  ["500 当月 万1v", "500 当月 万1v", /no instruction/],
  ["双卖 500 300 当月 10手", "300", /underlying is already 500/],
  ["双卖 500 当月 实一档 10手", "实一档", /at or out of the money/],
  ["双卖 500 当月 delta 5万", "delta 5万", /no delta to size by/],
  ["买购 500 当月 6000 1.5手", "1.5手", /whole number/],
  ["双卖 500 当月 10手 20手", "20手", /size is already 10手/],
  ["", "", /no instruction/],
];

describe("parseInstructions: accepted phrasings", () => {
  it("has at least 40 of them", () => expect(accepted.length).toBeGreaterThanOrEqual(40));
  it.each(accepted)("%s", (text, expected) => {
    const result = parseInstructions(text, { today });
    expect(result).toEqual({
      ok: true,
      instructions: [{ ...expected, text: text.trim().replace(/^[,，]+|[,，]+$/g, "") }],
    });
    // What the parser emits is what the contracts accept.
    if (result.ok) for (const i of result.instructions) expect(InstructionSchema.safeParse(i).success).toBe(true);
  });
});

describe("parseInstructions: refusals", () => {
  it("has at least 15 of them", () => expect(refused.length).toBeGreaterThanOrEqual(15));
  it.each(refused)("%s", (text, unread, message) => {
    const result = parseInstructions(text, { today });
    if (result.ok) throw new Error(`expected a refusal, got ${JSON.stringify(result.instructions)}`);
    expect(result.error.unread).toBe(unread);
    expect(result.error.message).toMatch(message);
    expect(result.error.message).toContain(unread);
    expect(text.slice(result.error.position, result.error.position + unread.length)).toBe(unread);
  });
});

describe("parseInstructions: several instructions", () => {
  it("splits on newlines and ；/; and keeps each fragment's text", () => {
    const text = "双卖 500 当月 万1 的v\n买沽 300 下月 平值 10手；平仓 50; 移仓 当月到下月";
    const r = parseInstructions(text, { today });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.instructions.map((i) => i.type)).toEqual(["straddle", "single", "close", "roll"]);
    expect(r.instructions.map((i) => i.text)).toEqual([
      "双卖 500 当月 万1 的v",
      "买沽 300 下月 平值 10手",
      "平仓 50",
      "移仓 当月到下月",
    ]);
  });

  it("skips blank lines and reports the failing statement's position in the whole text", () => {
    const text = "双卖 500 当月 万1v\n\n双买 300 下月 xyz";
    const r = parseInstructions(text, { today });
    expect(r).toEqual({
      ok: false,
      error: { message: 'cannot read "xyz" in "双买 300 下月 xyz"', unread: "xyz", position: text.indexOf("xyz") },
    });
  });

  it("applies underlying overrides", () => {
    const r = parseInstructions("双卖 500 当月 10手", { today, underlyingOverrides: { "500": "159922" } });
    expect(r.ok && r.instructions[0]?.type === "straddle" && r.instructions[0].underlying).toBe("159922");
  });
});

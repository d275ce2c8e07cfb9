import { describe, expect, it } from "vitest";
import { instructionRows } from "../src/lib/instruction-rows";
import { locateParseError, splitAtSpan } from "../src/lib/parse-error";
import { shortStraddle } from "./fixtures";

describe("locateParseError", () => {
  it("marks the part the trading system could not read", () => {
    const text = "双卖 500 当月 万1 的v\n买购 300 下月 xyz 10手";
    const span = locateParseError(text, 'cannot read "xyz" in "买购 300 下月 xyz 10手": a strike is a price');
    expect(span).not.toBeNull();
    expect(text.slice(span!.start, span!.end)).toBe("xyz");
    expect(splitAtSpan(text, span!)).toEqual({
      before: "双卖 500 当月 万1 的v\n买购 300 下月 ",
      marked: "xyz",
      after: " 10手",
    });
  });

  it("finds a repeated token inside its own statement", () => {
    const text = "双卖 500 当月 万1 的v；买购 500 500 下月 平值 10手";
    const span = locateParseError(
      text,
      'cannot read "500" in "买购 500 500 下月 平值 10手": the underlying is already 500',
    );
    expect(span!.start).toBe(text.indexOf("买购") + "买购 ".length);
  });

  it("marks the whole statement when something is missing", () => {
    const text = "双卖 500 万1 的v";
    const span = locateParseError(text, 'missing month (当月/下月/当季/下季) in "双卖 500 万1 的v"');
    expect(span).toMatchObject({ start: 0, end: text.length });
  });

  it("returns null when the message names nothing in the text", () => {
    expect(locateParseError("双卖 500", "Invalid input: accounts: Too small")).toBeNull();
    expect(locateParseError("双卖 500", 'cannot read "zzz" in "other"')).toBeNull();
  });
});

describe("instructionRows", () => {
  it("shows a short straddle as a call and a put leg", () => {
    const rows = instructionRows([shortStraddle]);
    expect(rows.map((r) => [r.side, r.right, r.strike, r.month, r.size])).toEqual([
      ["Sell", "Call 购", "ATM", "当月", "vega ¥10,000 / vol pt"],
      ["Sell", "Put 沽", "ATM", "当月", "vega ¥10,000 / vol pt"],
    ]);
    expect(new Set(rows.map((r) => r.key)).size).toBe(2);
  });

  it("numbers instructions and describes singles, closes and rolls", () => {
    const rows = instructionRows([
      {
        type: "single",
        text: "买购 300 下月 虚一档 10手",
        side: "buy",
        right: "call",
        underlying: "510300",
        month: "next",
        strike: { kind: "otm", steps: 1 },
        size: { unit: "lots", value: 10 },
      },
      { type: "close", text: "平仓", underlying: null, month: null },
      { type: "roll", text: "移仓 当月 到 下月", underlying: "510050", from: "current", to: "next" },
    ]);
    expect(rows.map((r) => [r.instruction, r.action, r.strike, r.month, r.underlying])).toEqual([
      [1, "Single", "OTM 1", "下月", "510300"],
      [2, "Close", "—", "all", "all"],
      [3, "Roll", "same", "当月 → 下月", "510050"],
    ]);
  });
});

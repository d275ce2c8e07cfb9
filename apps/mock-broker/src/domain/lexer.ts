import type { Month, Right, Side, Size } from "./types.js";

/**
 * Tokens of the desk's instruction shorthand. The lexer works on a copy of the
 * text with full-width ASCII folded and letters lower-cased, character for
 * character, so every token's offsets point into the original text.
 */
export type Verb =
  | { type: "straddle"; side: Side; strangle: boolean }
  | { type: "single"; side: Side; right: Right }
  | { type: "close"; all: boolean }
  | { type: "roll" };

export type TokenKind =
  | { kind: "verb"; verb: Verb }
  | { kind: "month"; month: Month }
  | { kind: "monthNumber"; month: number }
  | { kind: "strike"; rel: "atm" | "otm" | "itm"; steps: number }
  | { kind: "structure"; structure: "straddle" | "strangle" }
  | { kind: "size"; size: Size; whole: boolean }
  /** A quantity with a multiplier (万1, 5千) but no unit: a size missing its unit. */
  | { kind: "amount"; value: number }
  | { kind: "number"; value: number; hasDot: boolean }
  /** A word that names an underlying (50etf, 深500, 创业板); resolved by the grammar. */
  | { kind: "underlyingWord" }
  | { kind: "arrow" }
  | { kind: "all" }
  | { kind: "unknown" };

export type Token = TokenKind & {
  /** Offsets into the full original text. */
  start: number;
  end: number;
  /** The original characters. */
  text: string;
};

/** Fold full-width ASCII and upper case, keeping one character per character. */
export function normalizeText(text: string): string {
  let out = "";
  for (const ch of text) {
    const code = ch.charCodeAt(0);
    if (ch.length === 1 && code >= 0xff01 && code <= 0xff5e) out += String.fromCharCode(code - 0xfee0).toLowerCase();
    else if (ch === "\u3000") out += " ";
    else {
      const lower = ch.toLowerCase();
      out += lower.length === ch.length ? lower : ch; // keep offsets: "İ" lower-cases to two units
    }
  }
  return out;
}

const SEPARATOR = /[\s,、。]/;
export const isSeparator = (ch: string | undefined): boolean => ch !== undefined && SEPARATOR.test(ch);

const KEYWORDS: ReadonlyArray<[string, TokenKind]> = (
  [
    ["双卖", { kind: "verb", verb: { type: "straddle", side: "sell", strangle: false } }],
    ["双买", { kind: "verb", verb: { type: "straddle", side: "buy", strangle: false } }],
    ["卖出跨式", { kind: "verb", verb: { type: "straddle", side: "sell", strangle: false } }],
    ["买入跨式", { kind: "verb", verb: { type: "straddle", side: "buy", strangle: false } }],
    ["卖跨式", { kind: "verb", verb: { type: "straddle", side: "sell", strangle: false } }],
    ["买跨式", { kind: "verb", verb: { type: "straddle", side: "buy", strangle: false } }],
    ["卖出宽跨", { kind: "verb", verb: { type: "straddle", side: "sell", strangle: true } }],
    ["买入宽跨", { kind: "verb", verb: { type: "straddle", side: "buy", strangle: true } }],
    ["卖宽跨", { kind: "verb", verb: { type: "straddle", side: "sell", strangle: true } }],
    ["买宽跨", { kind: "verb", verb: { type: "straddle", side: "buy", strangle: true } }],
    ["买入认购", { kind: "verb", verb: { type: "single", side: "buy", right: "call" } }],
    ["卖出认购", { kind: "verb", verb: { type: "single", side: "sell", right: "call" } }],
    ["买入认沽", { kind: "verb", verb: { type: "single", side: "buy", right: "put" } }],
    ["卖出认沽", { kind: "verb", verb: { type: "single", side: "sell", right: "put" } }],
    ["买认购", { kind: "verb", verb: { type: "single", side: "buy", right: "call" } }],
    ["卖认购", { kind: "verb", verb: { type: "single", side: "sell", right: "call" } }],
    ["买认沽", { kind: "verb", verb: { type: "single", side: "buy", right: "put" } }],
    ["卖认沽", { kind: "verb", verb: { type: "single", side: "sell", right: "put" } }],
    ["买购", { kind: "verb", verb: { type: "single", side: "buy", right: "call" } }],
    ["卖购", { kind: "verb", verb: { type: "single", side: "sell", right: "call" } }],
    ["买沽", { kind: "verb", verb: { type: "single", side: "buy", right: "put" } }],
    ["卖沽", { kind: "verb", verb: { type: "single", side: "sell", right: "put" } }],
    ["平仓", { kind: "verb", verb: { type: "close", all: false } }],
    ["全平", { kind: "verb", verb: { type: "close", all: true } }],
    ["清仓", { kind: "verb", verb: { type: "close", all: true } }],
    ["移仓", { kind: "verb", verb: { type: "roll" } }],
    ["展期", { kind: "verb", verb: { type: "roll" } }],
    ["换月", { kind: "verb", verb: { type: "roll" } }],
    ["当月", { kind: "month", month: "current" }],
    ["本月", { kind: "month", month: "current" }],
    ["近月", { kind: "month", month: "current" }],
    ["下月", { kind: "month", month: "next" }],
    ["次月", { kind: "month", month: "next" }],
    ["当季", { kind: "month", month: "current_quarter" }],
    ["本季", { kind: "month", month: "current_quarter" }],
    ["下季", { kind: "month", month: "next_quarter" }],
    ["次季", { kind: "month", month: "next_quarter" }],
    ["平值档", { kind: "strike", rel: "atm", steps: 0 }],
    ["平值", { kind: "strike", rel: "atm", steps: 0 }],
    ["atm", { kind: "strike", rel: "atm", steps: 0 }],
    ["宽跨式", { kind: "structure", structure: "strangle" }],
    ["宽跨", { kind: "structure", structure: "strangle" }],
    ["跨式", { kind: "structure", structure: "straddle" }],
    ["全部", { kind: "all" }],
    ["所有", { kind: "all" }],
    ["all", { kind: "all" }],
    ["->", { kind: "arrow" }],
    ["=>", { kind: "arrow" }],
    ["→", { kind: "arrow" }],
    ["到", { kind: "arrow" }],
    ["至", { kind: "arrow" }],
  ] satisfies Array<[string, TokenKind]>
).sort((a, b) => b[0].length - a[0].length);

const CN_DIGITS: Record<string, number> = { 一: 1, 二: 2, 两: 2, 三: 3, 四: 4, 五: 5, 六: 6, 七: 7, 八: 8, 九: 9 };

const isAsciiWordChar = (ch: string | undefined): boolean => ch !== undefined && /[a-z0-9]/.test(ch);

interface Lexed {
  end: number;
  token: TokenKind;
}

/** 一..九十九 in the usual spelling (十, 十五, 二十, 二十五). */
function lexCnNumber(s: string, i: number): { value: number; end: number } | undefined {
  const a = CN_DIGITS[s[i] ?? ""];
  if (s[i] === "十") {
    const b = CN_DIGITS[s[i + 1] ?? ""];
    return b ? { value: 10 + b, end: i + 2 } : { value: 10, end: i + 1 };
  }
  if (!a) return undefined;
  if (s[i + 1] === "十") {
    const b = CN_DIGITS[s[i + 2] ?? ""];
    return b ? { value: a * 10 + b, end: i + 3 } : { value: a * 10, end: i + 2 };
  }
  return { value: a, end: i + 1 };
}

function lexDecimal(s: string, i: number): { value: number; end: number; hasDot: boolean } | undefined {
  const m = /^\d+(\.\d+)?/.exec(s.slice(i));
  if (!m) return undefined;
  return { value: Number(m[0]), end: i + m[0].length, hasDot: m[1] !== undefined };
}

function lexCount(s: string, i: number): { value: number; end: number; hasDot: boolean; cn: boolean } | undefined {
  const d = lexDecimal(s, i);
  if (d) return { ...d, cn: false };
  const c = lexCnNumber(s, i);
  return c ? { ...c, hasDot: false, cn: true } : undefined;
}

interface Amount {
  value: number;
  end: number;
  hasDot: boolean;
  /** A 万/千/w/k multiplier or Chinese numerals: unmistakably a quantity, not a code or strike. */
  quantity: boolean;
}

function skipSpaces(s: string, i: number): number {
  let j = i;
  while (s[j] === " " || s[j] === "\t") j++;
  return j;
}

/** 万1 (desk shorthand: 10,000), 千5, 1万, 1.5万, 1w, 5千, 5k, 两万, 10. */
function lexAmount(s: string, i: number): Amount | undefined {
  const lead = s[i] === "万" ? 10_000 : s[i] === "千" ? 1_000 : 0;
  if (lead) {
    const n = lexCount(s, skipSpaces(s, i + 1));
    return n ? { value: n.value * lead, end: n.end, hasDot: n.hasDot, quantity: true } : undefined;
  }
  const n = lexCount(s, i);
  if (!n) return undefined;
  const suffix = s[n.end];
  if (suffix === "万" || suffix === "w")
    return { value: n.value * 10_000, end: n.end + 1, hasDot: n.hasDot, quantity: true };
  if (suffix === "千" || suffix === "k")
    return { value: n.value * 1_000, end: n.end + 1, hasDot: n.hasDot, quantity: true };
  // "1 万 v": a Chinese multiplier may stand apart from its number, unless it
  // starts the desk's 万N form ("500 万1v" is 500 then 万1 v).
  const spaced = skipSpaces(s, n.end);
  if (spaced > n.end && (s[spaced] === "万" || s[spaced] === "千") && !lexCount(s, skipSpaces(s, spaced + 1))) {
    return {
      value: n.value * (s[spaced] === "万" ? 10_000 : 1_000),
      end: spaced + 1,
      hasDot: n.hasDot,
      quantity: true,
    };
  }
  return { value: n.value, end: n.end, hasDot: n.hasDot, quantity: n.cn };
}

type Unit = Size["unit"];
const UNITS: ReadonlyArray<[string, Unit]> = [
  ["lots", "lots"],
  ["lot", "lots"],
  ["手", "lots"],
  ["张", "lots"],
  ["vega", "vega"],
  ["v", "vega"],
  ["delta", "delta"],
  ["δ", "delta"],
];

function matchWord(s: string, i: number, word: string): boolean {
  if (!s.startsWith(word, i)) return false;
  // ASCII words need a boundary so "atm" does not match inside "atmosphere".
  return !/^[a-z]/.test(word) || !isAsciiWordChar(s[i + word.length]);
}

/** A unit after an amount: optional spaces, an optional 的, then 手/张/v/vega/delta. */
function lexUnitAfter(s: string, i: number): { unit: Unit; end: number } | undefined {
  let j = i;
  while (s[j] === " " || s[j] === "\t") j++;
  const de = s[j] === "的";
  if (de) j++;
  while (s[j] === " " || s[j] === "\t") j++;
  const detached = j > i && !de;
  for (const [word, unit] of UNITS) {
    if (!matchWord(s, j, word)) continue;
    // "6000 vega 1万": the unit belongs to the amount after it, not to 6000.
    if (detached && unit !== "lots" && lexUnitFirst(s, j)) return undefined;
    return { unit, end: j + word.length };
  }
  return undefined;
}

function sizeToken(unit: Unit, amount: Amount): TokenKind {
  return { kind: "size", size: { unit, value: amount.value }, whole: Number.isInteger(amount.value) };
}

/** "vega 1万", "delta 5万", "v1w": unit first, then the amount. */
function lexUnitFirst(s: string, i: number): Lexed | undefined {
  for (const [word, unit] of UNITS) {
    if (unit === "lots" || !matchWord(s, i, word)) continue;
    let j = i + word.length;
    while (s[j] === " " || s[j] === "\t" || s[j] === ":" || s[j] === "=") j++;
    const amount = lexAmount(s, j);
    if (amount) return { end: amount.end, token: sizeToken(unit, amount) };
  }
  return undefined;
}

/** 虚一档, 虚值2档, 实1档, 虚二, otm1, itm 2. */
function lexStrikeRel(s: string, i: number): Lexed | undefined {
  const m = /^(虚值|虚|实值|实|otm|itm) ?/.exec(s.slice(i));
  if (!m) return undefined;
  const n = lexCount(s, i + m[0].length);
  if (!n || n.hasDot || n.value < 1) return undefined;
  const end = s[n.end] === "档" ? n.end + 1 : n.end;
  const rel = m[1]!.startsWith("虚") || m[1] === "otm" ? "otm" : "itm";
  return { end, token: { kind: "strike", rel, steps: n.value } };
}

/** A word naming an underlying: needs an exchange prefix, an "etf" suffix or an index name. */
function lexUnderlyingWord(s: string, i: number): Lexed | undefined {
  const rest = s.slice(i);
  const m =
    /^(深|沪|sz|sh)?(上证|沪深|中证)?\d+(etf)?/.exec(rest) ?? /^(深|沪|sz|sh)?(创业板|创业|cyb)(etf)?/.exec(rest);
  if (!m || !(m[1] || m[2] || m[3])) return undefined;
  if (isAsciiWordChar(s[i + m[0].length]) && /[a-z0-9]$/.test(m[0])) return undefined;
  return { end: i + m[0].length, token: { kind: "underlyingWord" } };
}

function lexNumeric(s: string, i: number): Lexed | undefined {
  const amount = lexAmount(s, i);
  if (!amount) return undefined;
  if (s[amount.end] === "月" && !amount.hasDot && amount.value >= 1 && amount.value <= 12) {
    return { end: amount.end + 1, token: { kind: "monthNumber", month: amount.value } };
  }
  const unit = lexUnitAfter(s, amount.end);
  if (unit) return { end: unit.end, token: sizeToken(unit.unit, amount) };
  if (amount.quantity) return { end: amount.end, token: { kind: "amount", value: amount.value } };
  if (isAsciiWordChar(s[amount.end])) return undefined; // "6000x": not a number
  return { end: amount.end, token: { kind: "number", value: amount.value, hasDot: amount.hasDot } };
}

function lexKeyword(s: string, i: number): Lexed | undefined {
  for (const [word, token] of KEYWORDS) if (matchWord(s, i, word)) return { end: i + word.length, token };
  return undefined;
}

function lexOne(s: string, i: number): Lexed | undefined {
  return lexUnitFirst(s, i) ?? lexStrikeRel(s, i) ?? lexUnderlyingWord(s, i) ?? lexKeyword(s, i) ?? lexNumeric(s, i);
}

/**
 * Tokens of `normalized.slice(from, to)`, offsets absolute. Characters no rule
 * reads become "unknown" tokens (an ASCII word whole; otherwise up to the next
 * separator or the next place a rule reads), so errors can quote them.
 */
export function tokenize(original: string, normalized: string, from: number, to: number): Token[] {
  const s = normalized.slice(0, to);
  const tokens: Token[] = [];
  let i = from;
  while (i < to) {
    if (isSeparator(s[i])) {
      i++;
      continue;
    }
    const lexed = lexOne(s, i);
    if (lexed) {
      tokens.push({ ...lexed.token, start: i, end: lexed.end, text: original.slice(i, lexed.end) });
      i = lexed.end;
      continue;
    }
    let j = i + 1;
    if (isAsciiWordChar(s[i])) while (j < to && /[a-z0-9.]/.test(s[j]!)) j++;
    else while (j < to && !isSeparator(s[j]) && !lexOne(s, j)) j++;
    tokens.push({ kind: "unknown", start: i, end: j, text: original.slice(i, j) });
    i = j;
  }
  return tokens;
}

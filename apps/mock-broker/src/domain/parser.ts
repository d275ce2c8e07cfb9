import { type IsoDate, listedMonthByNumber, listedMonths, shanghaiToday } from "./calendar.js";
import { normalizeText, type Token, tokenize, type Verb } from "./lexer.js";
import type { Instruction, Month, Size, StrikeSelector } from "./types.js";
import { resolveUnderlying } from "./underlyings.js";

/**
 * The desk's instruction shorthand -> instructions. Hand-written: a lexer
 * (lexer.ts) and, per statement, one verb plus slots filled in any order.
 * It never guesses: anything it cannot place is an error that quotes it.
 * Grammar and examples: README.md in this folder.
 */
export interface ParseOptions {
  /** Exchange date used to resolve "12月" to a listed month; default today in Shanghai. */
  today?: IsoDate;
  /** Family or alias -> underlying code, e.g. { "500": "159922" } to default 500 to SZSE. */
  underlyingOverrides?: Readonly<Record<string, string>>;
}

export interface ParseError {
  message: string;
  /** The part of the text that could not be read (the whole statement when something is missing). */
  unread: string;
  /** Offset of `unread` in the text. */
  position: number;
}

export type ParseResult = { ok: true; instructions: Instruction[] } | { ok: false; error: ParseError };

const VERBS_HINT = "双卖/双买/买购/卖购/买沽/卖沽/平仓/移仓";
const SIZE_HINT = "e.g. 10手, 万1 的v, 2万vega, delta 5万";
const MONTH_NAMES: Record<Month, string> = {
  current: "当月",
  next: "下月",
  current_quarter: "当季",
  next_quarter: "下季",
};

class Refusal {
  constructor(readonly error: ParseError) {}
}

interface Statement {
  start: number;
  text: string;
  tokens: Token[];
}

function splitStatements(text: string, normalized: string): Statement[] {
  const statements: Statement[] = [];
  let from = 0;
  for (let i = 0; i <= normalized.length; i++) {
    const ch = normalized[i];
    if (i < normalized.length && ch !== "\n" && ch !== "\r" && ch !== ";") continue;
    const tokens = tokenize(text, normalized, from, i);
    if (tokens.length > 0) {
      const start = tokens[0]!.start;
      statements.push({ start, text: text.slice(start, tokens[tokens.length - 1]!.end), tokens });
    }
    from = i + 1;
  }
  return statements;
}

function refuseToken(st: Statement, t: Token, hint?: string): Refusal {
  return new Refusal({
    message: `cannot read "${t.text}" in "${st.text}"${hint ? `: ${hint}` : ""}`,
    unread: t.text,
    position: t.start,
  });
}

function refuseMissing(st: Statement, what: string): Refusal {
  return new Refusal({ message: `missing ${what} in "${st.text}"`, unread: st.text, position: st.start });
}

/** "6.0" -> 6.0, "6000" -> 6.000, "6" -> 6; 100..999 is ambiguous (0.6? 600?) and refused. */
function strikePrice(t: Token & { kind: "number" }): number | undefined {
  if (t.hasDot) return t.value > 0 ? t.value : undefined;
  if (t.value >= 1000) return t.value / 1000;
  if (t.value >= 1 && t.value < 100) return t.value;
  return undefined;
}

interface Slots {
  underlying?: { code: string; token: Token };
  months: Array<{ month: Month; token: Token }>;
  arrow: boolean;
  strike?: { selector: StrikeSelector; token: Token };
  structure?: { structure: "straddle" | "strangle"; token: Token };
  size?: { size: Size; token: Token };
  all: boolean;
}

function parseStatement(st: Statement, o: Required<ParseOptions>): Instruction {
  const unknown = st.tokens.find((t) => t.kind === "unknown");
  if (unknown) throw refuseToken(st, unknown);
  const verbs = st.tokens.filter((t): t is Token & { kind: "verb" } => t.kind === "verb");
  if (verbs.length === 0) {
    throw new Refusal({
      message: `no instruction in "${st.text}": expected one of ${VERBS_HINT}`,
      unread: st.text,
      position: st.start,
    });
  }
  if (verbs.length > 1) {
    const second = verbs[1]!;
    const rest = st.text.slice(second.start - st.start);
    throw new Refusal({
      message: `cannot read "${rest}" in "${st.text}": one instruction per line (or separate them with ；)`,
      unread: rest,
      position: second.start,
    });
  }
  const verb = verbs[0]!.verb;
  const slots: Slots = { months: [], arrow: false, all: false };
  for (const t of st.tokens) fill(st, verb, slots, t, o);
  return build(st, verb, slots);
}

function setUnderlying(st: Statement, slots: Slots, t: Token, code: string): void {
  if (slots.underlying) throw refuseToken(st, t, `the underlying is already ${slots.underlying.token.text}`);
  slots.underlying = { code, token: t };
}

function fill(st: Statement, verb: Verb, slots: Slots, t: Token, o: Required<ParseOptions>): void {
  const takesLegs = verb.type === "straddle" || verb.type === "single";
  switch (t.kind) {
    case "verb":
      return;
    case "underlyingWord": {
      const u = resolveUnderlying(t.text, o.underlyingOverrides);
      if (!u)
        throw new Refusal({
          message: `unknown underlying "${t.text}" in "${st.text}"`,
          unread: t.text,
          position: t.start,
        });
      setUnderlying(st, slots, t, u.code);
      return;
    }
    case "number": {
      const u = t.hasDot ? undefined : resolveUnderlying(t.text, o.underlyingOverrides);
      if (u && !slots.underlying) {
        setUnderlying(st, slots, t, u.code);
        return;
      }
      if (verb.type === "single" && !slots.strike) {
        const price = strikePrice(t);
        if (price !== undefined && (slots.underlying || t.hasDot || t.value >= 1000)) {
          slots.strike = { selector: { kind: "price", price }, token: t };
          return;
        }
        if (slots.underlying) throw refuseToken(st, t, "a strike is a price like 6.0 or 6000 (= 6.000)");
      }
      if (u) throw refuseToken(st, t, `the underlying is already ${slots.underlying!.token.text}`);
      if (!slots.underlying) {
        throw new Refusal({
          message: `unknown underlying "${t.text}" in "${st.text}"`,
          unread: t.text,
          position: t.start,
        });
      }
      throw refuseToken(st, t, takesLegs ? `a size needs a unit (${SIZE_HINT})` : undefined);
    }
    case "month":
    case "monthNumber": {
      let month: Month;
      if (t.kind === "month") month = t.month;
      else {
        const listed = listedMonthByNumber(t.month, o.today);
        if (!listed) {
          const names = listedMonths(o.today).map((m) => `${m.month}月`);
          throw refuseToken(st, t, `not a listed month on ${o.today} (listed: ${names.join(", ")})`);
        }
        month = listed.which;
      }
      const limit = verb.type === "roll" ? 2 : 1;
      if (slots.months.length >= limit)
        throw refuseToken(st, t, verb.type === "roll" ? "a roll takes two months" : "one month only");
      slots.months.push({ month, token: t });
      return;
    }
    case "arrow":
      if (verb.type !== "roll" || slots.months.length !== 1 || slots.arrow) {
        throw refuseToken(st, t, verb.type === "roll" ? "write 移仓 <from> 到 <to>" : undefined);
      }
      slots.arrow = true;
      return;
    case "strike": {
      if (!takesLegs) throw refuseToken(st, t);
      if (slots.strike) throw refuseToken(st, t, `the strike is already ${slots.strike.token.text}`);
      if (verb.type === "straddle" && t.rel === "itm")
        throw refuseToken(st, t, "a straddle or strangle is at or out of the money");
      const selector: StrikeSelector = t.rel === "atm" ? { kind: "atm" } : { kind: t.rel, steps: t.steps };
      slots.strike = { selector, token: t };
      return;
    }
    case "structure":
      if (verb.type !== "straddle" || slots.structure) throw refuseToken(st, t);
      slots.structure = { structure: t.structure, token: t };
      return;
    case "size":
      if (!takesLegs) throw refuseToken(st, t, `${verb.type === "close" ? "平仓" : "移仓"} takes no size`);
      if (slots.size) throw refuseToken(st, t, `the size is already ${slots.size.token.text}`);
      if (t.size.unit === "lots" && !t.whole) throw refuseToken(st, t, "lots must be a whole number");
      if (!(t.size.value > 0)) throw refuseToken(st, t, "a size must be positive");
      slots.size = { size: t.size, token: t };
      return;
    case "amount":
      throw refuseToken(st, t, takesLegs ? `the size has no unit (${SIZE_HINT})` : undefined);
    case "all":
      if (verb.type !== "close") throw refuseToken(st, t);
      slots.all = true;
      return;
    case "unknown":
      throw refuseToken(st, t);
  }
}

function build(st: Statement, verb: Verb, slots: Slots): Instruction {
  const text = st.text;
  const month = slots.months[0]?.month;
  switch (verb.type) {
    case "straddle": {
      if (!slots.underlying) throw refuseMissing(st, "underlying (e.g. 500, 300, 50, 创业板, 510500)");
      if (!month) throw refuseMissing(st, "month (当月/下月/当季/下季)");
      if (!slots.size) throw refuseMissing(st, `size (${SIZE_HINT})`);
      if (slots.size.size.unit === "delta") {
        throw refuseToken(st, slots.size.token, "a straddle has no delta to size by; use 手 or vega");
      }
      const strike = slots.strike?.selector;
      const wantsStrangle = verb.strangle || slots.structure?.structure === "strangle";
      let otmSteps = strike?.kind === "otm" ? strike.steps : 0;
      if (wantsStrangle && otmSteps === 0) {
        if (strike?.kind === "atm") throw refuseToken(st, slots.strike!.token, "a strangle is out of the money");
        otmSteps = 1;
      }
      if (slots.structure?.structure === "straddle" && otmSteps > 0) {
        throw refuseToken(st, slots.strike!.token, "跨式 is at the money; 宽跨 is out of the money");
      }
      return {
        type: "straddle",
        text,
        side: verb.side,
        structure: otmSteps > 0 ? "strangle" : "straddle",
        otmSteps,
        underlying: slots.underlying.code,
        month,
        size: slots.size.size,
      };
    }
    case "single":
      if (!slots.underlying) throw refuseMissing(st, "underlying (e.g. 500, 300, 50, 创业板, 510500)");
      if (!month) throw refuseMissing(st, "month (当月/下月/当季/下季)");
      if (!slots.strike) throw refuseMissing(st, "strike (平值, 虚一档, 实一档, 6.0 or 6000)");
      if (!slots.size) throw refuseMissing(st, `size (${SIZE_HINT})`);
      return {
        type: "single",
        text,
        side: verb.side,
        right: verb.right,
        underlying: slots.underlying.code,
        month,
        strike: slots.strike.selector,
        size: slots.size.size,
      };
    case "close": {
      const out: Instruction = { type: "close", text };
      if (slots.underlying) out.underlying = slots.underlying.code;
      if (month) out.month = month;
      return out;
    }
    case "roll": {
      const [from, to] = slots.months;
      if (!from) throw refuseMissing(st, "the month to roll from (移仓 当月 到 下月)");
      if (!to) throw refuseMissing(st, "the month to roll to (移仓 当月 到 下月)");
      if (from.month === to.month)
        throw refuseToken(st, to.token, `already ${MONTH_NAMES[from.month]}: roll to another month`);
      const out: Instruction = { type: "roll", text, from: from.month, to: to.month };
      if (slots.underlying) out.underlying = slots.underlying.code;
      return out;
    }
  }
}

/** Parse one or more instructions (separated by newlines or ；/;). */
export function parseInstructions(text: string, options: ParseOptions = {}): ParseResult {
  const o: Required<ParseOptions> = {
    today: options.today ?? shanghaiToday(),
    underlyingOverrides: options.underlyingOverrides ?? {},
  };
  const statements = splitStatements(text, normalizeText(text));
  if (statements.length === 0) {
    return {
      ok: false,
      error: { message: `no instruction in "${text}": expected one of ${VERBS_HINT}`, unread: text, position: 0 },
    };
  }
  try {
    return { ok: true, instructions: statements.map((st) => parseStatement(st, o)) };
  } catch (e) {
    if (e instanceof Refusal) return { ok: false, error: e.error };
    throw e;
  }
}

import { formatMonth, formatRight, formatSide, formatSize, formatStrike } from "./format";
import type { Instruction } from "./types";

/** One row of the parsed-legs table: what the trader asked for, before pricing. */
export interface InstructionRow {
  key: string;
  /** Which instruction (1-based) the row belongs to. */
  instruction: number;
  action: string;
  side: string;
  right: string;
  underlying: string;
  month: string;
  strike: string;
  size: string;
  source: string;
}

const ALL = "all";

/**
 * The parse result as legs: a straddle or strangle is two legs (a call and a put at the
 * same or mirrored strikes), a single option one, a close or roll one row for what it
 * moves. Pricing and lots come later, from the dry run.
 */
export function instructionRows(instructions: readonly Instruction[]): InstructionRow[] {
  const rows: InstructionRow[] = [];
  instructions.forEach((ins, index) => {
    const n = index + 1;
    const common = { instruction: n, source: ins.text };
    switch (ins.type) {
      case "straddle": {
        const strike = ins.structure === "straddle" ? "ATM" : `OTM ${ins.otmSteps}`;
        for (const right of ["call", "put"] as const) {
          rows.push({
            ...common,
            key: `${n}-${right}`,
            action: ins.structure === "straddle" ? "Straddle" : "Strangle",
            side: formatSide(ins.side),
            right: formatRight(right),
            underlying: ins.underlying,
            month: formatMonth(ins.month),
            strike,
            size: formatSize(ins.size),
          });
        }
        break;
      }
      case "single":
        rows.push({
          ...common,
          key: `${n}`,
          action: "Single",
          side: formatSide(ins.side),
          right: formatRight(ins.right),
          underlying: ins.underlying,
          month: formatMonth(ins.month),
          strike: formatStrike(ins.strike),
          size: formatSize(ins.size),
        });
        break;
      case "close":
        rows.push({
          ...common,
          key: `${n}`,
          action: "Close",
          side: "—",
          right: "—",
          underlying: ins.underlying ?? ALL,
          month: ins.month ? formatMonth(ins.month) : ALL,
          strike: "—",
          size: "held",
        });
        break;
      case "roll":
        rows.push({
          ...common,
          key: `${n}`,
          action: "Roll",
          side: "—",
          right: "—",
          underlying: ins.underlying ?? ALL,
          month: `${formatMonth(ins.from)} → ${formatMonth(ins.to)}`,
          strike: "same",
          size: "held",
        });
        break;
    }
  });
  return rows;
}

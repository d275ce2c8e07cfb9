/**
 * The instruction vocabulary, as agreed in @desk/contracts. Kept as local type
 * aliases until the contracts package is built; the shapes are identical.
 */
export type Side = "buy" | "sell";
export type Right = "call" | "put";
/** Listed months: 当月, 下月, 当季, 下季. */
export type Month = "current" | "next" | "current_quarter" | "next_quarter";
/** How much to trade: lots, yuan of vega per vol point, or yuan of cash delta. */
export type Size =
  | { unit: "lots"; value: number }
  | { unit: "vega"; value: number }
  | { unit: "delta"; value: number };
export type StrikeSelector =
  | { kind: "atm" }
  | { kind: "otm"; steps: number }
  | { kind: "itm"; steps: number }
  | { kind: "price"; price: number };
export interface StraddleInstruction {
  type: "straddle";
  text: string;
  side: Side;
  structure: "straddle" | "strangle";
  otmSteps: number;
  underlying: string;
  month: Month;
  size: Size;
}
export interface SingleInstruction {
  type: "single";
  text: string;
  side: Side;
  right: Right;
  underlying: string;
  month: Month;
  strike: StrikeSelector;
  size: Size;
}
export interface CloseInstruction {
  type: "close";
  text: string;
  underlying?: string | null;
  month?: Month | null;
}
export interface RollInstruction {
  type: "roll";
  text: string;
  underlying?: string | null;
  from: Month;
  to: Month;
}
export type Instruction = StraddleInstruction | SingleInstruction | CloseInstruction | RollInstruction;

export const MONTHS: readonly Month[] = ["current", "next", "current_quarter", "next_quarter"];

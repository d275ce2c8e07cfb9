import type { Month } from "@desk/contracts";

/**
 * The instruction vocabulary comes from @desk/contracts (type-only: the domain
 * carries no zod at run time). Shapes, in short:
 *   straddle { side, structure, otmSteps, underlying, month, size, text }
 *   single   { side, right, underlying, month, strike, size, text }
 *   close    { underlying?, month?, text }
 *   roll     { underlying?, from, to, text }
 */
export type {
  CloseInstruction,
  Instruction,
  Month,
  Right,
  RollInstruction,
  Side,
  SingleInstruction,
  Size,
  StraddleInstruction,
  StrikeSelector,
} from "@desk/contracts";

export const MONTHS: readonly Month[] = ["current", "next", "current_quarter", "next_quarter"];

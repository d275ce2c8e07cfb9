import type { Instruction, Permission } from "../src/lib/types";

/** "双卖 500 当月 万1 的v" as the trading system parses it. */
export const shortStraddle: Instruction = {
  type: "straddle",
  text: "双卖 500 当月 万1 的v",
  side: "sell",
  structure: "straddle",
  otmSteps: 0,
  underlying: "510500",
  month: "current",
  size: { unit: "vega", value: 10_000 },
};

/** The mock's trader role: everything but admin. */
export const TRADER_PERMISSIONS: Permission[] = [
  "account:read",
  "account:write",
  "algorithm:read",
  "algorithm:control",
  "instruction:parse",
  "instruction:execute",
  "market:read",
];

import { z } from "zod";
import {
  AccountId,
  distinctList,
  MAX_ACCOUNTS_PER_CALL,
  ContractCode,
  ExecutionId,
  IsoDate,
  Month,
  NonNegativeQuantity,
  Progress,
  Right,
  Side,
  Size,
  Timestamp,
  UnderlyingCode,
  Yuan,
} from "./common.js";

/** The fragment of the user's text an instruction was parsed from, e.g. "双卖 500 当月 万1 的v". */
const SourceText = z.string().min(1).max(4000).describe("source fragment this instruction was parsed from");

/** How many instructions one execution may carry (a desk's order is a handful of legs). */
export const MAX_INSTRUCTIONS_PER_CALL = 50;
/** The longest shorthand text parse_instructions takes (a pasted block of orders). */
export const MAX_INSTRUCTION_TEXT = 4000;
/** The accounts an instruction is for: distinct, at most MAX_ACCOUNTS_PER_CALL. */
const accountList = (min: number) =>
  distinctList(AccountId, { min, max: MAX_ACCOUNTS_PER_CALL, what: "account", description: "accounts" });

/**
 * 双卖 / 双买: sell or buy a call and a put together. A straddle is both at the
 * money (otmSteps 0); a strangle is otmSteps strikes out of the money on each side.
 */
export const StraddleInstruction = z
  .object({
    type: z.literal("straddle"),
    text: SourceText,
    side: Side,
    structure: z.enum(["straddle", "strangle"]),
    otmSteps: z.int().nonnegative().describe("0 for a straddle, >= 1 for a strangle"),
    underlying: UnderlyingCode,
    month: Month,
    size: Size,
  })
  .refine((i) => (i.structure === "straddle" ? i.otmSteps === 0 : i.otmSteps >= 1), {
    message: "otmSteps must be 0 for a straddle and at least 1 for a strangle",
    path: ["otmSteps"],
  });

/** Which strike: at the money, N steps out of / in the money, or an explicit strike price. */
export const StrikeSelector = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("atm") }),
  z.object({ kind: z.literal("otm"), steps: z.int().positive() }),
  z.object({ kind: z.literal("itm"), steps: z.int().positive() }),
  z.object({ kind: z.literal("price"), price: z.number().positive() }),
]);

/** 买购 卖购 买沽 卖沽: one option leg. */
export const SingleInstruction = z.object({
  type: z.literal("single"),
  text: SourceText,
  side: Side,
  right: Right,
  underlying: UnderlyingCode,
  month: Month,
  strike: StrikeSelector,
  size: Size,
});

/** 平仓: close positions; neither underlying nor month means everything. */
export const CloseInstruction = z.object({
  type: z.literal("close"),
  text: SourceText,
  underlying: UnderlyingCode.nullish(),
  month: Month.nullish(),
});

/** 移仓 当月 到 下月: roll positions from one month to another. */
export const RollInstruction = z
  .object({
    type: z.literal("roll"),
    text: SourceText,
    underlying: UnderlyingCode.nullish(),
    from: Month,
    to: Month,
  })
  .refine((i) => i.from !== i.to, { message: "roll needs two different months", path: ["to"] });

export const Instruction = z.discriminatedUnion("type", [
  StraddleInstruction,
  SingleInstruction,
  CloseInstruction,
  RollInstruction,
]);
export const InstructionType = z.enum(["straddle", "single", "close", "roll"]);

export const ParseInstructionsArgs = z.tuple([
  z.string().min(1).max(MAX_INSTRUCTION_TEXT).describe("text"),
  accountList(0),
]);
export const ParseInstructionsResult = z.object({
  instructions: z.array(Instruction),
  accounts: z.array(AccountId),
});

export const ExecutionStatus = z.enum(["pending", "running", "completed", "cancelled", "failed"]);
export const LegStatus = z.enum(["pending", "working", "filled", "cancelled", "failed"]);

/** One order the execution works: a contract, in one account. */
export const ExecutionLeg = z.object({
  legId: z.string().min(1),
  accountId: AccountId,
  code: ContractCode,
  name: z.string().describe('display name, e.g. "500ETF沽12月5750"'),
  side: Side,
  right: Right,
  strike: z.number().positive(),
  expiry: IsoDate,
  targetQuantity: z.int().positive(),
  filledQuantity: NonNegativeQuantity,
  avgPrice: z.number().nonnegative().nullish().describe("average fill price; null before the first fill"),
  status: LegStatus,
});

/** What one account got out of an execution. */
export const AccountFillSummary = z.object({
  accountId: AccountId,
  legs: NonNegativeQuantity.describe("number of legs for this account"),
  targetQuantity: NonNegativeQuantity,
  filledQuantity: NonNegativeQuantity,
  premium: Yuan.describe("net premium, yuan: received > 0, paid < 0"),
});

export const Execution = z.object({
  id: ExecutionId,
  status: ExecutionStatus,
  dryRun: z.boolean(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  progress: Progress,
  legs: z.array(ExecutionLeg),
  fills: z.array(AccountFillSummary),
  error: z.string().nullish(),
  requestId: z
    .string()
    .max(255)
    .nullish()
    .describe(
      "requestId (kwargs._ctx.requestId) of the execute_instructions call that created it, if the trading system records it: how a gateway whose call got no answer recognises the execution in execution.<id> events",
    ),
});

/** The accounts an execution trades for: of its legs and its fills, each once. */
export function executionAccounts(execution: Pick<Execution, "legs" | "fills">): string[] {
  return [...new Set([...execution.legs.map((l) => l.accountId), ...execution.fills.map((f) => f.accountId)])];
}

export const ExecuteInstructionsArgs = z.tuple([
  distinctList(Instruction, {
    min: 1,
    max: MAX_INSTRUCTIONS_PER_CALL,
    what: "instruction",
    description: "instructions",
  }),
  accountList(1),
  z.boolean().optional().describe("dryRun: price and size the legs, send nothing"),
]);
export const ExecutionIdArgs = z.tuple([ExecutionId]);

export type StraddleInstruction = z.infer<typeof StraddleInstruction>;
export type StrikeSelector = z.infer<typeof StrikeSelector>;
export type SingleInstruction = z.infer<typeof SingleInstruction>;
export type CloseInstruction = z.infer<typeof CloseInstruction>;
export type RollInstruction = z.infer<typeof RollInstruction>;
export type Instruction = z.infer<typeof Instruction>;
export type InstructionType = z.infer<typeof InstructionType>;
export type ParseInstructionsResult = z.infer<typeof ParseInstructionsResult>;
export type ExecutionStatus = z.infer<typeof ExecutionStatus>;
export type LegStatus = z.infer<typeof LegStatus>;
export type ExecutionLeg = z.infer<typeof ExecutionLeg>;
export type AccountFillSummary = z.infer<typeof AccountFillSummary>;
export type Execution = z.infer<typeof Execution>;

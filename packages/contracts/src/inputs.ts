import { z } from "zod";
import { ExecuteInstructionsArgs, ParseInstructionsArgs } from "./instruction.js";

/**
 * Inputs of the gateway's instruction procedures, as a UI validates them in a form
 * before sending (the SDK re-exports them from `@desk/sdk/schemas`). They are the
 * objects the gateway's `instruction.parse` / `instruction.execute` take, built from
 * the positional args of the backend methods; the SDK's typecheck fails if they ever
 * differ from the router's inputs.
 */

/** The caller's idempotency key for an execution (the SDK's newClientOrderId() makes one). */
export const ClientOrderId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, "1-64 characters of A-Z a-z 0-9 _ -")
  .describe(
    "your idempotency key: a retry with the same key (same user) gets the first attempt's answer instead of starting another execution: the execution, or the unknown outcome until the gateway learns it; remembered by the gateway for an hour, or with ZMQ_DEDUPE_WRITES by the trading system's reply cache (2 minutes by default)",
  );

const [ParseText, ParseAccounts] = ParseInstructionsArgs.def.items;
const [InstructionList, ExecuteAccounts] = ExecuteInstructionsArgs.def.items;

/** instruction.parse: the desk's shorthand ("双卖 500 当月 万1 的v") and the accounts it is for. */
export const ParseInstructionsInput = z.object({ text: ParseText, accounts: ParseAccounts });

/** instruction.execute / executeLive: parsed (or hand-built) instructions, at least one account. */
export const ExecuteInstructionsInput = z.object({
  instructions: InstructionList,
  accounts: ExecuteAccounts,
  dryRun: z.boolean().default(false).describe("price and size the legs, send nothing"),
  clientOrderId: ClientOrderId.optional(),
});

export type ClientOrderId = z.infer<typeof ClientOrderId>;
export type ParseInstructionsInput = z.input<typeof ParseInstructionsInput>;
export type ExecuteInstructionsInput = z.input<typeof ExecuteInstructionsInput>;

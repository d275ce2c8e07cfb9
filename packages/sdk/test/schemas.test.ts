// @desk/sdk/schemas: what a UI validates its forms with must be what the gateway accepts.
// The type-level checks below fail `pnpm typecheck` if a schema's input drifts from the
// router's input for the same procedure; the runtime checks show the schemas reject what
// the gateway would reject, with messages a form can show.
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import {
  AccountId,
  ClientOrderId,
  ExecuteInstructionsInput,
  Instruction,
  ParseInstructionsInput,
} from "../src/schemas.js";
import type { RouterInputs } from "../src/types.js";

type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const parseMatches: Same<z.input<typeof ParseInstructionsInput>, RouterInputs["instruction"]["parse"]> = true;
const executeMatches: Same<z.input<typeof ExecuteInstructionsInput>, RouterInputs["instruction"]["execute"]> = true;
const accountMatches: Same<z.input<typeof AccountId>, RouterInputs["account"]["positions"]["accountId"]> = true;

const sellStraddle = {
  type: "straddle",
  text: "双卖 500 当月 万1 的v",
  side: "sell",
  structure: "straddle",
  otmSteps: 0,
  underlying: "510500",
  month: "current",
  size: { unit: "vega", value: 10_000 },
} as const;

describe("schemas", () => {
  it("match the router's inputs (checked at compile time)", () => {
    expect([parseMatches, executeMatches, accountMatches]).toEqual([true, true, true]);
  });

  it("accept a valid execution and fill in the gateway's default (dryRun false)", () => {
    const parsed = ExecuteInstructionsInput.parse({ instructions: [sellStraddle], accounts: ["account1"] });
    expect(parsed.dryRun).toBe(false);
    expect(Instruction.parse(sellStraddle).type).toBe("straddle");
  });

  it("reject what the gateway rejects, naming the field", () => {
    const noAccounts = ExecuteInstructionsInput.safeParse({ instructions: [sellStraddle], accounts: [] });
    expect(noAccounts.success).toBe(false);
    expect(noAccounts.error?.issues[0]?.path).toEqual(["accounts"]);

    const strangleAtTheMoney = Instruction.safeParse({ ...sellStraddle, structure: "strangle" });
    expect(strangleAtTheMoney.error?.issues[0]?.path).toEqual(["otmSteps"]);

    expect(ParseInstructionsInput.safeParse({ text: "", accounts: ["account1"] }).success).toBe(false);
    expect(AccountId.safeParse("").success).toBe(false);
    expect(ClientOrderId.safeParse("order 1").error?.issues[0]?.message).toBe("1-64 characters of A-Z a-z 0-9 _ -");
    expect(ClientOrderId.safeParse(globalThis.crypto.randomUUID()).success).toBe(true);
  });
});

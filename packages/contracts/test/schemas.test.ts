import { describe, expect, it } from "vitest";
import type { z } from "zod";
import {
  Account,
  Algorithm,
  AlgorithmLog,
  contracts,
  Execution,
  Instruction,
  MAX_ACCOUNTS_PER_CALL,
  MAX_INSTRUCTION_TEXT,
  MAX_INSTRUCTIONS_PER_CALL,
  MAX_PASSWORD,
  MAX_USERNAME,
  MarketTick,
  Position,
  RiskMetrics,
  Size,
  Timestamp,
  topics,
  User,
  UserPermissions,
} from "../src/index.js";
import {
  account1,
  algoLog,
  allInstructions,
  buyStrangle,
  eventExamples,
  execution,
  methodExamples,
  optionTick,
  risk1,
  sellPut,
  sellStraddle,
  shortCall,
  twap,
  underlyingTick,
} from "./fixtures.js";

const accepts = (schema: z.ZodType, value: unknown) => {
  const r = schema.safeParse(value);
  if (!r.success) throw new Error(`expected to accept ${JSON.stringify(value)}:\n${r.error.message}`);
};
const rejects = (schema: z.ZodType, value: unknown) => {
  expect(schema.safeParse(value).success, `expected to reject ${JSON.stringify(value)}`).toBe(false);
};
/** A copy of o missing one field: the classic "forgot to send it" mistake. */
const without = (o: object, key: string): Record<string, unknown> => {
  const copy: Record<string, unknown> = { ...o };
  delete copy[key];
  return copy;
};

describe("every method accepts a realistic call and reply", () => {
  for (const [service, methods] of Object.entries(methodExamples)) {
    for (const [method, example] of Object.entries(methods as Record<string, { args: unknown; result: unknown }>)) {
      it(`${service}.${method}`, () => {
        const contract = (
          contracts as unknown as Record<string, Record<string, { args: z.ZodType; result: z.ZodType }>>
        )[service]![method]!;
        accepts(contract.args, example.args);
        accepts(contract.result, example.result);
      });
    }
  }
});

describe("every topic accepts realistic events", () => {
  for (const [kind, examples] of Object.entries(eventExamples)) {
    it(kind, () => {
      for (const e of examples) accepts(topics[kind as keyof typeof topics].event, e);
    });
  }
});

describe("common", () => {
  it("timestamps need a zone and ISO form", () => {
    accepts(Timestamp, "2025-11-24T06:30:00Z");
    accepts(Timestamp, "2025-11-24T14:30:00.123456+08:00");
    rejects(Timestamp, "2025-11-24T14:30:00"); // naive: exchange or server time?
    rejects(Timestamp, "2025-11-24 14:30:00+08:00");
    rejects(Timestamp, 1763965800000);
    rejects(Timestamp, new Date());
  });
  it("sizes are positive lots, vega or delta", () => {
    accepts(Size, { unit: "lots", value: 10 });
    accepts(Size, { unit: "vega", value: 10000 });
    accepts(Size, { unit: "delta", value: 250000.5 });
    rejects(Size, { unit: "lots", value: 2.5 });
    rejects(Size, { unit: "vega", value: -10000 });
    rejects(Size, { unit: "vega", value: 0 });
    rejects(Size, { unit: "shares", value: 10 });
    rejects(Size, { unit: "lots", value: "10" });
  });
});

describe("auth", () => {
  it("rejects unknown roles and permissions", () => {
    rejects(User, { id: "u1", username: "x", displayName: "x", role: "superuser", active: true });
    const perms = methodExamples.auth_service.get_user_permissions.result;
    accepts(UserPermissions, perms);
    rejects(UserPermissions, { ...perms, permissions: ["account:delete"] });
    rejects(UserPermissions, without(perms, "allAccounts"));
  });
  it("authenticate takes exactly username and password", () => {
    const { args } = contracts.auth_service.authenticate;
    rejects(args, ["trader1"]);
    rejects(args, ["trader1", ""]);
    rejects(args, ["trader1", "pw", "extra"]);
    rejects(args, { username: "trader1", password: "pw" });
  });
  it("change_password only reports success", () => {
    rejects(contracts.auth_service.change_password.result, { changed: false });
  });
  it("bounds usernames and passwords before anything hashes or stores them", () => {
    const { args } = contracts.auth_service.authenticate;
    accepts(args, ["u".repeat(MAX_USERNAME), "p".repeat(MAX_PASSWORD)]);
    rejects(args, ["u".repeat(MAX_USERNAME + 1), "pw"]);
    rejects(args, ["trader1", "p".repeat(MAX_PASSWORD + 1)]);
    rejects(args, ["u".repeat(900 * 1024), "pw"]);
    rejects(contracts.auth_service.change_password.args, ["user-trader1", "old", "n".repeat(MAX_PASSWORD + 1)]);
  });
  it("a token version is optional, a non-negative integer when present", () => {
    const perms = methodExamples.auth_service.get_user_permissions.result;
    accepts(UserPermissions, { ...perms, tokenVersion: 3 });
    accepts(UserPermissions, { ...perms, tokenVersion: null });
    rejects(UserPermissions, { ...perms, tokenVersion: -1 });
    rejects(UserPermissions, { ...perms, tokenVersion: 1.5 });
    accepts(contracts.auth_service.authenticate.result, {
      ...methodExamples.auth_service.authenticate.result,
      tokenVersion: 0,
    });
  });
});

describe("account", () => {
  it("rejects typical account mistakes", () => {
    rejects(Account, { ...account1, balance: "5234567.89" }); // Decimal that was not converted
    rejects(Account, without(account1, "dailyPnl"));
    rejects(Account, { ...account1, margin: -1 });
    rejects(Account, { ...account1, totalPnl: Number.NaN });
    rejects(Account, { ...account1, enabled: "true" });
  });
  it("keeps positions per contract honest", () => {
    rejects(Position, { ...shortCall, quantity: 1.5 });
    rejects(Position, { ...shortCall, expiry: "2025/12/24" });
    rejects(Position, { ...shortCall, expiry: "2025-12-24T00:00:00Z" });
    rejects(Position, { ...shortCall, multiplier: 0 });
    rejects(Position, { ...shortCall, underlying: "500" }); // shorthand must be resolved to 510500
    rejects(Position, { ...shortCall, right: "C" });
    rejects(Position, without(shortCall, "greeks"));
    rejects(Position, { ...shortCall, greeks: { delta: 1, gamma: 1, vega: 1 } });
  });
  it("VaR is a positive loss, metrics are finite", () => {
    rejects(RiskMetrics, { ...risk1, var95: -98_500 });
    rejects(RiskMetrics, { ...risk1, cashDelta: Number.POSITIVE_INFINITY });
    rejects(RiskMetrics, { ...risk1, asOf: "2025-11-24 14:30" });
    rejects(RiskMetrics, without(risk1, "byUnderlying"));
  });
  it("set_account_enabled needs a real boolean", () => {
    const { args } = contracts.account_service.set_account_enabled;
    rejects(args, ["account1", "false"]);
    rejects(args, ["account1"]);
  });
  it("single-account methods take one non-empty id", () => {
    const { args } = contracts.account_service.get_positions;
    rejects(args, []);
    rejects(args, [""]);
    rejects(args, [42]);
    rejects(contracts.account_service.get_accounts.args, ["account1"]);
  });
});

describe("algorithm", () => {
  it("rejects typical algorithm mistakes", () => {
    rejects(Algorithm, { ...twap, progress: 1.5 });
    rejects(Algorithm, { ...twap, progress: 40 }); // percent instead of fraction
    rejects(Algorithm, { ...twap, kind: "twap" });
    rejects(Algorithm, { ...twap, status: "cancelled" });
    rejects(Algorithm, { ...twap, parameters: { nested: { a: 1 } } });
    rejects(Algorithm, { ...twap, filledQuantity: -1 });
    rejects(Algorithm, without(twap, "accountId"));
    rejects(AlgorithmLog, { ...algoLog, level: "warning" });
  });
  it("commands are start, pause, resume, stop", () => {
    const { args } = contracts.algorithm_service.send_algorithm_command;
    for (const c of ["start", "pause", "resume", "stop"]) accepts(args, [twap.id, c]);
    rejects(args, [twap.id, "restart"]);
    rejects(args, [twap.id]);
  });
});

describe("instruction", () => {
  it("accepts all four instruction types", () => {
    for (const i of allInstructions) accepts(Instruction, i);
  });
  it("rejects typical parser mistakes", () => {
    rejects(Instruction, { ...sellStraddle, otmSteps: 1 }); // a straddle is at the money
    rejects(Instruction, { ...buyStrangle, otmSteps: 0 }); // a strangle is not
    rejects(Instruction, { ...sellStraddle, month: "this_month" });
    rejects(Instruction, { ...sellStraddle, size: { unit: "vega", value: -1 } });
    rejects(Instruction, { ...sellStraddle, underlying: "500" });
    rejects(Instruction, without(sellStraddle, "text"));
    rejects(Instruction, { ...sellPut, strike: { kind: "otm" } });
    rejects(Instruction, { ...sellPut, strike: { kind: "otm", steps: 0 } });
    rejects(Instruction, without(sellPut, "right"));
    rejects(Instruction, { type: "roll", text: "移仓", from: "current", to: "current" });
    rejects(Instruction, { type: "roll", text: "移仓", from: "current" });
    rejects(Instruction, { type: "spread", text: "价差" });
  });
  it("close accepts Python's None for an absent filter", () => {
    accepts(Instruction, { type: "close", text: "平仓", underlying: null, month: null });
  });
  it("execute_instructions: instructions, accounts, optional dryRun", () => {
    const { args } = contracts.instruction_service.execute_instructions;
    accepts(args, [[sellStraddle], ["account1"]]);
    accepts(args, [[sellStraddle], ["account1"], false]);
    rejects(args, [[], ["account1"]]);
    rejects(args, [[sellStraddle], []]);
    rejects(args, [[sellStraddle], ["account1"], "yes"]);
    rejects(args, [[sellStraddle], ["account1"], true, "extra"]);
  });
  it("refuses a repeated account or instruction, naming the repeat, and bounds both lists", () => {
    const { args } = contracts.instruction_service.execute_instructions;
    const twice = args.safeParse([[sellStraddle], ["account1", "account2", "account1"]]);
    expect(twice.success).toBe(false);
    expect(twice.error?.issues[0]).toMatchObject({ path: [1, 2], message: "duplicate account: the same as account 0" });
    // The same instruction with its keys in another order is still the same instruction.
    const reordered = Object.fromEntries(Object.entries(sellStraddle).reverse());
    const repeated = args.safeParse([[sellStraddle, reordered], ["account1"]]);
    expect(repeated.error?.issues[0]).toMatchObject({ path: [0, 1] });
    accepts(args, [
      [sellStraddle, buyStrangle],
      ["account1", "account2"],
    ]);
    const accounts = (n: number) => Array.from({ length: n }, (_, i) => `account${i}`);
    accepts(args, [[sellStraddle], accounts(MAX_ACCOUNTS_PER_CALL)]);
    rejects(args, [[sellStraddle], accounts(MAX_ACCOUNTS_PER_CALL + 1)]);
    rejects(args, [[sellStraddle], accounts(90_000)]);
    const many = Array.from({ length: MAX_INSTRUCTIONS_PER_CALL + 1 }, (_, i) => ({ ...sellStraddle, text: `#${i}` }));
    rejects(args, [many, ["account1"]]);
    accepts(args, [many.slice(1), ["account1"]]);
    const parse = contracts.instruction_service.parse_instructions.args;
    rejects(parse, ["双卖 500 当月 万1 的v", ["account1", "account1"]]);
    rejects(parse, ["x".repeat(MAX_INSTRUCTION_TEXT + 1), ["account1"]]);
    accepts(parse, ["双卖 500 当月 万1 的v", ["account1", "account2"]]);
  });
  it("rejects typical execution mistakes", () => {
    rejects(Execution, { ...execution, progress: -0.1 });
    rejects(Execution, { ...execution, status: "done" });
    rejects(Execution, without(execution, "dryRun"));
    rejects(Execution, { ...execution, legs: [{ ...execution.legs[0]!, filledQuantity: -1 }] });
    rejects(Execution, { ...execution, legs: [{ ...execution.legs[0]!, targetQuantity: 0 }] });
    accepts(Execution, without(execution, "error"));
    accepts(Execution, { ...execution, status: "failed", error: "INVALID_ARGUMENT: no 当季 contract" });
  });
});

describe("events", () => {
  it("market ticks are underlying or option, options carry their contract terms", () => {
    accepts(MarketTick, underlyingTick);
    rejects(MarketTick, without(optionTick, "greeks"));
    rejects(MarketTick, without(optionTick, "multiplier"));
    rejects(MarketTick, { ...optionTick, kind: "future" });
    rejects(MarketTick, { ...optionTick, iv: -0.2 });
  });
  it("every event needs an integer seq and an ISO ts", () => {
    for (const kind of Object.keys(eventExamples) as (keyof typeof eventExamples)[]) {
      const event = topics[kind].event;
      const example = eventExamples[kind][0]!;
      rejects(event, { ...example, seq: -1 });
      rejects(event, { ...example, seq: 1.5 });
      rejects(event, without(example, "ts"));
      rejects(event, { ...example, ts: 1763965800 });
    }
  });
});

describe("results tolerate fields the Python side adds", () => {
  it("accepts and strips unknown keys", () => {
    const parsed = Account.parse({ ...account1, riskLimit: 1_000_000 });
    expect(parsed).toEqual(account1);
    accepts(contracts.instruction_service.get_execution_status.result, { ...execution, operator: "u-trader1" });
  });
});

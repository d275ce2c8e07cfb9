import { describe, expect, expectTypeOf, it } from "vitest";
import {
  type ArgsInputOf,
  type ArgsOf,
  contracts,
  getMethodContract,
  type KindOf,
  type MethodName,
  methodList,
  type Position,
  type ResultOf,
  type ServiceHandlers,
  type ServiceName,
  serviceNames,
  executionAccounts,
  topics,
  writeMethods,
} from "../src/index.js";

/** The method lists of the source document (seeds/000_…txt), verbatim. */
const sourceDocument = {
  auth_service: ["authenticate", "verify_user", "change_password", "get_user_permissions"],
  account_service: [
    "get_accounts",
    "get_account",
    "get_positions",
    "get_risk_metrics",
    "set_account_enabled",
    "verify_positions",
  ],
  algorithm_service: ["get_algorithms", "get_algorithm", "send_algorithm_command", "get_algorithm_logs"],
  instruction_service: ["parse_instructions", "execute_instructions", "get_execution_status", "cancel_execution"],
};

describe("the registry", () => {
  it("holds the four services of the source document with exactly their 18 methods", () => {
    // Services the desk adds later (CONTRIBUTING.md, "Adding a service") come after these.
    expect(serviceNames.slice(0, 4)).toEqual(Object.keys(sourceDocument));
    for (const [service, methods] of Object.entries(sourceDocument)) {
      expect(Object.keys(contracts[service as ServiceName]).sort()).toEqual([...methods].sort());
    }
    expect(methodList.filter((m) => m.service in sourceDocument)).toHaveLength(18);
  });

  it("marks exactly the five state-changing methods as writes, every other one as a read", () => {
    // The expected kinds are spelled out here, not derived from the registry: this is what
    // decides whether a call may be retried (a read) or is sent at most once (a write).
    const writes = [
      "cancel_execution",
      "change_password",
      "execute_instructions",
      "send_algorithm_command",
      "set_account_enabled",
    ];
    for (const [service, methods] of Object.entries(sourceDocument)) {
      for (const method of methods) {
        const contract = getMethodContract(service, method);
        expect(contract?.kind, `${service}.${method}`).toBe(writes.includes(method) ? "write" : "read");
      }
    }
    const ofSourceDocument = new Set(Object.values(sourceDocument).flat());
    expect([...writeMethods].filter((m) => ofSourceDocument.has(m)).sort()).toEqual(writes);
  });

  it("looks methods up by untrusted names without touching the prototype", () => {
    expect(getMethodContract("account_service", "get_positions")).toBe(contracts.account_service.get_positions);
    expect(getMethodContract("account_service", "authenticate")).toBeUndefined();
    expect(getMethodContract("nope", "get_positions")).toBeUndefined();
    expect(getMethodContract("account_service", "toString")).toBeUndefined();
    expect(getMethodContract("__proto__", "constructor")).toBeUndefined();
  });

  it("keeps precise types per method", () => {
    expectTypeOf<ArgsOf<"account_service", "get_positions">>().toEqualTypeOf<[string]>();
    expectTypeOf<ArgsOf<"account_service", "get_accounts">>().toEqualTypeOf<[]>();
    expectTypeOf<ArgsOf<"account_service", "set_account_enabled">>().toEqualTypeOf<[string, boolean]>();
    expectTypeOf<ResultOf<"account_service", "get_positions">>().toEqualTypeOf<Position[]>();
    expectTypeOf<ResultOf<"auth_service", "change_password">>().toEqualTypeOf<{ changed: true }>();
    expectTypeOf<KindOf<"instruction_service", "cancel_execution">>().toEqualTypeOf<"write">();
    expectTypeOf<KindOf<"instruction_service", "get_execution_status">>().toEqualTypeOf<"read">();
    expectTypeOf<MethodName<"algorithm_service">>().toEqualTypeOf<
      "get_algorithms" | "get_algorithm" | "send_algorithm_command" | "get_algorithm_logs"
    >();
    // dryRun is optional for callers
    const call: ArgsInputOf<"instruction_service", "execute_instructions"> = [[], ["account1"]];
    expect(call).toHaveLength(2);
  });
});

describe("topics", () => {
  it("say which accounts each event concerns", async () => {
    const { eventExamples } = await import("./fixtures.js");
    expect(topics.market.accountsOf).toBeUndefined();
    for (const e of eventExamples.account) expect(topics.account.accountsOf?.(e)).toEqual([e.accountId]);
    for (const e of eventExamples.algorithm) expect(topics.algorithm.accountsOf?.(e)).toEqual([e.algorithm.accountId]);
    for (const e of eventExamples.execution)
      expect(topics.execution.accountsOf?.(e)).toEqual(executionAccounts(e.execution));
    const twoAccounts = {
      legs: [{ accountId: "a" }, { accountId: "b" }, { accountId: "a" }],
      fills: [{ accountId: "c" }],
    } as unknown as Parameters<typeof executionAccounts>[0];
    expect(executionAccounts(twoAccounts)).toEqual(["a", "b", "c"]);
  });

  it("type a missing handler as an error", () => {
    const handlers = {
      get_accounts: () => [],
      // @ts-expect-error get_account, get_positions, ... are missing: this must not compile
    } satisfies ServiceHandlers<"account_service">;
    expect(Object.keys(handlers)).toEqual(["get_accounts"]);
  });
});

import { type contracts, type Instruction, methodList } from "@desk/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MockHarness, waitFor } from "./helpers.js";

/**
 * Every method of the four mock workers over real MDP (MdpClient -> MdpBroker ->
 * MdpWorker) with pickle payloads: results match the contracts, bad args are
 * INVALID_ARGUMENT, unknown ids NOT_FOUND, and nothing kills a worker.
 */
const h = new MockHarness();
beforeAll(async () => {
  await h.start({ tickMs: 5000, fillMs: 50 });
});
afterAll(() => h.close());

describe("auth_service", () => {
  it("authenticates the three dev logins with their roles", async () => {
    const admin = await h.call("auth_service", "authenticate", ["admin", "admin123"]);
    expect(admin.user).toMatchObject({ id: "user-admin", role: "admin", active: true });
    expect(admin.permissions).toContain("admin");
    const trader = await h.call("auth_service", "authenticate", ["trader1", "trader123"]);
    expect(trader.user).toMatchObject({ id: "user-trader1", role: "trader" });
    expect(trader.permissions).toEqual(
      expect.arrayContaining(["instruction:execute", "algorithm:control", "account:write"]),
    );
    const viewer = await h.call("auth_service", "authenticate", ["viewer1", "viewer123"]);
    expect(viewer.user.role).toBe("viewer");
    expect(viewer.permissions).not.toContain("account:write");
  });

  it("refuses a wrong password or an unknown user as UNAUTHENTICATED, with the same message", async () => {
    const wrong = await h.fail("auth_service", "authenticate", ["admin", "nope"]);
    const unknown = await h.fail("auth_service", "authenticate", ["nobody", "admin123"]);
    expect(wrong).toEqual({ code: "UNAUTHENTICATED", message: "invalid username or password" });
    expect(unknown).toEqual(wrong);
  });

  it("answers permissions per user and verify_user for known and unknown ids", async () => {
    expect(await h.call("auth_service", "get_user_permissions", ["user-trader1"])).toMatchObject({
      role: "trader",
      accounts: ["account1", "account2"],
      allAccounts: false,
    });
    expect(await h.call("auth_service", "get_user_permissions", ["user-viewer1"])).toMatchObject({
      permissions: ["account:read", "algorithm:read", "market:read"],
      allAccounts: true,
    });
    expect(await h.call("auth_service", "verify_user", ["user-admin"])).toEqual({
      userId: "user-admin",
      exists: true,
      active: true,
    });
    expect(await h.call("auth_service", "verify_user", ["ghost"])).toEqual({
      userId: "ghost",
      exists: false,
      active: false,
    });
    expect((await h.fail("auth_service", "get_user_permissions", ["ghost"])).code).toBe("NOT_FOUND");
  });

  it("change_password really changes the hash", async () => {
    expect((await h.fail("auth_service", "change_password", ["user-viewer1", "wrong-old", "viewer456"])).code).toBe(
      "UNAUTHENTICATED",
    );
    expect((await h.fail("auth_service", "change_password", ["user-viewer1", "viewer123", "x"])).code).toBe(
      "INVALID_ARGUMENT",
    );
    expect((await h.fail("auth_service", "change_password", ["ghost", "a", "bcdefgh"])).code).toBe("NOT_FOUND");
    expect(await h.call("auth_service", "change_password", ["user-viewer1", "viewer123", "viewer456"])).toEqual({
      changed: true,
    });
    expect((await h.fail("auth_service", "authenticate", ["viewer1", "viewer123"])).code).toBe("UNAUTHENTICATED");
    expect((await h.call("auth_service", "authenticate", ["viewer1", "viewer456"])).user.id).toBe("user-viewer1");
    await h.call("auth_service", "change_password", ["user-viewer1", "viewer456", "viewer123"]);
  });

  it("a password change moves the user's token version, which every gateway reads from get_user_permissions", async () => {
    const before = (await h.call("auth_service", "get_user_permissions", ["user-trader1"])).tokenVersion;
    expect(before).toBeTypeOf("number");
    expect((await h.call("auth_service", "authenticate", ["trader1", "trader123"])).tokenVersion).toBe(before);
    // A refused change moves nothing.
    await h.fail("auth_service", "change_password", ["user-trader1", "wrong-old", "trader456"]);
    expect((await h.call("auth_service", "get_user_permissions", ["user-trader1"])).tokenVersion).toBe(before);
    await h.call("auth_service", "change_password", ["user-trader1", "trader123", "trader456"]);
    const after = (await h.call("auth_service", "get_user_permissions", ["user-trader1"])).tokenVersion;
    expect(after).toBe((before ?? 0) + 1);
    expect((await h.call("auth_service", "authenticate", ["trader1", "trader456"])).tokenVersion).toBe(after);
    await h.call("auth_service", "change_password", ["user-trader1", "trader456", "trader123"]);
  });
});

describe("account_service", () => {
  it("lists three accounts with positions, risk and a verify result", async () => {
    const accounts = await h.call("account_service", "get_accounts", []);
    expect(accounts.map((a) => a.id)).toEqual(["account1", "account2", "account3"]);
    for (const id of ["account1", "account2", "account3"]) {
      expect((await h.call("account_service", "get_account", [id])).id).toBe(id);
      const positions = await h.call("account_service", "get_positions", [id]);
      expect(positions.length).toBeGreaterThan(0);
      const risk = await h.call("account_service", "get_risk_metrics", [id]);
      expect(risk.var99).toBeGreaterThanOrEqual(risk.var95);
      expect(risk.byUnderlying.length).toBeGreaterThan(0);
    }
    // An adjusted contract: the multiplier is per contract.
    const account2 = await h.call("account_service", "get_positions", ["account2"]);
    expect(account2.some((p) => p.multiplier === 10153)).toBe(true);
    // account1 is short a straddle: short vega, long theta.
    const risk1 = await h.call("account_service", "get_risk_metrics", ["account1"]);
    expect(risk1.byUnderlying.find((u) => u.underlying === "510500")?.vega).toBeLessThan(0);
  });

  it("verify_positions: account1 matches, account3 shows the broker's mismatch", async () => {
    expect(await h.call("account_service", "verify_positions", ["account1"])).toMatchObject({
      matched: true,
      mismatches: [],
    });
    const v3 = await h.call("account_service", "verify_positions", ["account3"]);
    expect(v3.matched).toBe(false);
    expect(v3.mismatches[0]!.broker).toBe(v3.mismatches[0]!.local - 2);
  });

  it("set_account_enabled toggles, and a disabled account refuses real executions", async () => {
    expect((await h.call("account_service", "set_account_enabled", ["account3", false])).enabled).toBe(false);
    const parsed = await h.call("instruction_service", "parse_instructions", ["买购 50 下月 平值 2手", ["account3"]]);
    const refused = await h.fail("instruction_service", "execute_instructions", [
      parsed.instructions,
      ["account3"],
      false,
    ]);
    expect(refused).toEqual({ code: "CONFLICT", message: "account account3 is disabled" });
    expect((await h.call("account_service", "set_account_enabled", ["account3", true])).enabled).toBe(true);
  });
});

describe("algorithm_service", () => {
  it("has running, paused and completed algorithms with logs", async () => {
    const algos = await h.call("algorithm_service", "get_algorithms", []);
    const statuses = new Set(algos.map((a) => a.status));
    expect(statuses).toEqual(new Set(["running", "paused", "completed"]));
    const one = await h.call("algorithm_service", "get_algorithm", ["algo-003"]);
    expect(one.status).toBe("paused");
    expect((await h.call("algorithm_service", "get_algorithm_logs", ["algo-001"])).length).toBeGreaterThan(0);
  });

  it("commands follow the algorithm's state; an impossible one is CONFLICT", async () => {
    expect((await h.call("algorithm_service", "send_algorithm_command", ["algo-003", "resume"])).status).toBe(
      "running",
    );
    expect((await h.call("algorithm_service", "send_algorithm_command", ["algo-003", "pause"])).status).toBe("paused");
    const conflict = await h.fail("algorithm_service", "send_algorithm_command", ["algo-005", "pause"]);
    expect(conflict.code).toBe("CONFLICT");
    expect(conflict.message).toContain("completed");
    const logs = await h.call("algorithm_service", "get_algorithm_logs", ["algo-003"]);
    expect(logs.at(-1)?.message).toContain("pause by user-test");
  });
});

describe("instruction_service", () => {
  it("parses the desk's shorthand and names what it cannot read", async () => {
    const out = await h.call("instruction_service", "parse_instructions", [
      "双卖 500 当月 万1 的v",
      ["account1", "account2"],
    ]);
    expect(out.instructions).toEqual([
      expect.objectContaining({
        type: "straddle",
        side: "sell",
        underlying: "510500",
        month: "current",
        size: { unit: "vega", value: 10000 },
      }),
    ]);
    expect(out.accounts).toEqual(["account1", "account2"]);
    const bad = await h.fail("instruction_service", "parse_instructions", ["双卖 500 xyz", ["account1"]]);
    expect(bad.code).toBe("INVALID_ARGUMENT");
    expect(bad.message).toMatch(/^cannot read "xyz"/);
    const missing = await h.fail("instruction_service", "parse_instructions", ["双卖 500 当月", ["account1"]]);
    expect(missing.message).toMatch(/^cannot read "双卖 500 当月": missing size/);
    expect((await h.fail("instruction_service", "parse_instructions", ["平仓", ["account9"]])).code).toBe("NOT_FOUND");
  });

  it("a vega-sized straddle becomes lots from vega per contract; a dry run completes at once and leaves positions alone", async () => {
    const { instructions } = await h.call("instruction_service", "parse_instructions", [
      "双卖 500 当月 万1 的v",
      ["account1"],
    ]);
    const before = await h.call("account_service", "get_positions", ["account1"]);
    const dry = await h.call("instruction_service", "execute_instructions", [
      instructions,
      ["account1", "account2"],
      true,
    ]);
    expect(dry).toMatchObject({ status: "completed", dryRun: true, progress: 1 });
    expect(dry.legs).toHaveLength(4);
    const [call, put] = dry.legs;
    expect(call).toMatchObject({ right: "call", side: "sell", status: "filled" });
    expect(put!.strike).toBe(call!.strike);
    expect(put!.targetQuantity).toBe(call!.targetQuantity);
    // 10,000 yuan of vega: a few dozen lots of an ATM 500ETF straddle, not 1 and not thousands.
    expect(call!.targetQuantity).toBeGreaterThan(5);
    expect(call!.targetQuantity).toBeLessThan(1000);
    expect(dry.fills.map((f) => f.accountId)).toEqual(["account1", "account2"]);
    expect(dry.fills[0]!.premium).toBeGreaterThan(0); // selling receives premium
    expect(await h.call("account_service", "get_positions", ["account1"])).toEqual(before);
  });

  it("a real execution fills leg by leg, updates positions, and can be read back", async () => {
    const instructions: Instruction[] = [
      {
        type: "single",
        text: "买购 300 下月 平值 3手",
        side: "buy",
        right: "call",
        underlying: "510300",
        month: "next",
        strike: { kind: "atm" },
        size: { unit: "lots", value: 3 },
      },
    ];
    const e = await h.call("instruction_service", "execute_instructions", [instructions, ["account3"]]);
    expect(e.status).toBe("running");
    expect(e.dryRun).toBe(false);
    const code = e.legs[0]!.code;
    const done = await waitFor(async () => {
      const s = await h.call("instruction_service", "get_execution_status", [e.id]);
      return s.status === "completed" && s;
    }, "execution completed");
    expect(done.legs[0]).toMatchObject({ filledQuantity: 3, status: "filled" });
    expect(done.legs[0]!.avgPrice).toBeGreaterThan(0);
    const positions = await h.call("account_service", "get_positions", ["account3"]);
    expect(positions.find((p) => p.code === code)?.quantity).toBe(3);
    expect((await h.fail("instruction_service", "cancel_execution", [e.id])).code).toBe("CONFLICT");
  });

  it("plans close and roll against what the account holds", async () => {
    const close: Instruction[] = [{ type: "close", text: "平仓 创业板 当月", underlying: "159915", month: "current" }];
    const c = await h.call("instruction_service", "execute_instructions", [close, ["account3"], true]);
    expect(c.legs.map((l) => l.side)).toEqual(["sell", "sell"]); // account3 is long a 创业板 strangle
    const roll: Instruction[] = [{ type: "roll", text: "移仓 当月 到 下月", from: "current", to: "next" }];
    const r = await h.call("instruction_service", "execute_instructions", [roll, ["account1"], true]);
    expect(r.legs.length).toBe(4); // two short 500ETF legs: buy back, sell next month
    expect(r.legs.filter((l) => l.side === "buy")).toHaveLength(2);
    const bad = await h.fail("instruction_service", "execute_instructions", [
      [
        {
          type: "single",
          text: "买购 500 当月 9.0 1手",
          side: "buy",
          right: "call",
          underlying: "510500",
          month: "current",
          strike: { kind: "price", price: 9 },
          size: { unit: "lots", value: 1 },
        },
      ],
      ["account1"],
      true,
    ]);
    expect(bad.code).toBe("INVALID_ARGUMENT");
    expect(bad.message).toContain("strike");
  });

  it("unknown execution ids are NOT_FOUND", async () => {
    expect((await h.fail("instruction_service", "get_execution_status", ["exec-999999"])).code).toBe("NOT_FOUND");
    expect((await h.fail("instruction_service", "cancel_execution", ["exec-999999"])).code).toBe("NOT_FOUND");
  });
});

describe("every method", () => {
  it("answers INVALID_ARGUMENT for args that break its contract", async () => {
    for (const { service, method, contract } of methodList) {
      // One more argument than any method takes is always wrong.
      const tooMany = Array.from({ length: contract.args.def.items.length + 2 }, () => 42);
      const out = await h.fail(service, method, tooMany);
      expect(out.code, `${service}.${method}`).toBe("INVALID_ARGUMENT");
      expect(out.message).toMatch(new RegExp(`^${method}: args`));
    }
    const typed = await h.fail("account_service", "set_account_enabled", ["account1", "yes"]);
    expect(typed.message).toContain("args.1");
  });

  it("answers NOT_FOUND for unknown ids", async () => {
    const cases: Array<[keyof typeof contracts, string, unknown[]]> = [
      ["account_service", "get_account", ["account9"]],
      ["account_service", "get_positions", ["account9"]],
      ["account_service", "get_risk_metrics", ["account9"]],
      ["account_service", "set_account_enabled", ["account9", true]],
      ["account_service", "verify_positions", ["account9"]],
      ["algorithm_service", "get_algorithm", ["algo-999"]],
      ["algorithm_service", "send_algorithm_command", ["algo-999", "stop"]],
      ["algorithm_service", "get_algorithm_logs", ["algo-999"]],
      ["instruction_service", "execute_instructions", [[{ type: "close", text: "平仓" }], ["account9"], true]],
      ["auth_service", "no_such_method", []],
    ];
    for (const [service, method, args] of cases) {
      const out = await h.fail(service, method, args);
      expect(out.code, `${service}.${method}`).toBe("NOT_FOUND");
    }
  });

  it("survives malformed and hostile pickles, and keeps serving", async () => {
    const garbage = await h.client.request("account_service", Buffer.from("not a pickle at all"));
    const { loads } = await import("@desk/pickle");
    expect(loads(garbage)).toEqual([false, expect.stringMatching(/^INVALID_ARGUMENT: cannot decode request/)]);
    // CPython's pickle.dumps(["get_accounts", X(), {}]) where X.__reduce__ returns (os.system, ("true",)):
    // the classic exploit. Refused by the decoder, never run.
    const hostile = Buffer.from(
      "80049534000000000000005d94288c0c6765745f6163636f756e7473948c05706f736978948c0673797374656d9493948c047472756594859452947d94652e",
      "hex",
    );
    const reply = loads(await h.client.request("account_service", hostile)) as [boolean, string];
    expect(reply[0]).toBe(false);
    expect(reply[1]).toMatch(/^INVALID_ARGUMENT: cannot decode request: .*posix\.system/);
    for (const envelope of [{ not: "a list" }, ["get_accounts"], [42, [], {}], ["get_accounts", "args", {}]]) {
      const { dumps } = await import("@desk/pickle");
      const r = loads(await h.client.request("account_service", dumps(envelope))) as [boolean, string];
      expect(r[0]).toBe(false);
      expect(r[1]).toMatch(/^INVALID_ARGUMENT: /);
    }
    const badCtx = await h.raw("account_service", "get_accounts", [], { kwargs: { _ctx: { userId: 5 } } });
    expect(badCtx).toEqual([false, expect.stringMatching(/^INVALID_ARGUMENT: bad kwargs._ctx/)]);
    // A caller without _ctx (a plain Python script) is served, logged as anonymous.
    expect(((await h.raw("account_service", "get_accounts", [], { kwargs: {} })) as unknown[])[0]).toBe(true);
    expect((await h.call("account_service", "get_accounts", [])).length).toBe(3);
  });

  it("deduplicates a write by requestId: a repeated execute_instructions creates one execution", async () => {
    const { instructions } = await h.call("instruction_service", "parse_instructions", [
      "买沽 50 下月 平值 1手",
      ["account1"],
    ]);
    const requestId = h.client.nextRequestId();
    const requestsBefore = h.backend.brokerStats().requests;
    const first = await h.call("instruction_service", "execute_instructions", [instructions, ["account1"], true], {
      requestId,
    });
    const again = await h.call("instruction_service", "execute_instructions", [instructions, ["account1"], true], {
      requestId,
    });
    expect(again).toEqual(first);
    const next = await h.call("instruction_service", "execute_instructions", [instructions, ["account1"], true]);
    // Counter-based ids: the repeat did not create an execution in between.
    expect(Number(next.id.slice(5))).toBe(Number(first.id.slice(5)) + 1);
    // Three requests reached the broker (the repeat was a new request, answered from the worker's cache).
    expect(h.backend.brokerStats()).toMatchObject({ requests: requestsBefore + 3, undelivered: 0 });
  });
});

import { startMockBackend } from "@desk/mock-broker";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGateway } from "../src/index.js";
import { metric } from "./helpers/delivery.js";
import { login, rest, testConfig } from "./helpers/stack.js";
import { collect, createClient } from "./helpers/ws-client.js";
import { freePort, waitFor } from "@desk/testkit";

type Tracked<T> = { id: string; data: T };

/** The gateway against @desk/mock-broker (the same bytes as the Python system), ticking fast. */
describe("against the mock trading system", () => {
  let mock: Awaited<ReturnType<typeof startMockBackend>>;
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  let trader: string;
  let viewer: string;
  let admin: string;
  const closers: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    mock = await startMockBackend({ tickMs: 150, fillMs: 150, heartbeatInterval: 500, seed: 7 });
    gateway = await startGateway(testConfig(mock, { zmqTimeout: 3000 }));
    trader = await login(gateway.url, "trader1", "trader123");
    viewer = await login(gateway.url, "viewer1", "viewer123");
    admin = await login(gateway.url, "admin", "admin123");
  });
  afterAll(async () => {
    for (const c of closers) await c();
    await gateway?.close();
    await mock?.close();
  });

  function client(token: string) {
    const c = createClient(gateway.url, gateway.wsUrl, token);
    closers.push(c.close);
    return c.client;
  }

  it("answers every query and mutation over tRPC", async () => {
    const c = client(trader);
    const a = client(admin);
    const me = await c.auth.me.query();
    expect(me.username).toBe("trader1");
    expect((await c.auth.permissions.query({})).role).toBe("trader");
    expect((await c.auth.verifyUser.query({ userId: me.userId })).exists).toBe(true);
    expect((await a.auth.verifyUser.query({ userId: me.userId })).active).toBe(true);

    const accounts = await c.account.list.query();
    expect(accounts.map((x) => x.id).sort()).toEqual(["account1", "account2"]);
    expect((await c.account.get.query({ accountId: "account1" })).id).toBe("account1");
    expect(Array.isArray(await c.account.positions.query({ accountId: "account1" }))).toBe(true);
    const risk = await c.account.riskMetrics.query({ accountId: "account1" });
    expect(risk.var99).toBeGreaterThanOrEqual(risk.var95);
    expect((await c.account.verifyPositions.query({ accountId: "account1" })).accountId).toBe("account1");
    expect((await c.account.setEnabled.mutate({ accountId: "account2", enabled: false })).enabled).toBe(false);
    expect((await c.account.setEnabled.mutate({ accountId: "account2", enabled: true })).enabled).toBe(true);

    const algos = await c.algorithm.list.query();
    expect(algos.length).toBeGreaterThan(0);
    expect(algos.every((x) => x.accountId === "account1" || x.accountId === "account2")).toBe(true);
    const algo = algos.find((x) => x.status === "running")!;
    expect((await c.algorithm.get.query({ algorithmId: algo.id })).id).toBe(algo.id);
    expect(Array.isArray(await c.algorithm.logs.query({ algorithmId: algo.id }))).toBe(true);
    expect((await c.algorithm.command.mutate({ algorithmId: algo.id, command: "pause" })).status).toBe("paused");
    expect((await c.algorithm.command.mutate({ algorithmId: algo.id, command: "resume" })).status).toBe("running");

    const parsed = await c.instruction.parse.mutate({ text: "双卖 500 当月 万1 的v", accounts: ["account1"] });
    expect(parsed.instructions[0]?.type).toBe("straddle");
    const dry = await c.instruction.execute.mutate({
      instructions: parsed.instructions,
      accounts: ["account1"],
      dryRun: true,
    });
    expect(dry.dryRun).toBe(true);
    expect((await c.instruction.status.query({ executionId: dry.id })).id).toBe(dry.id);
    const health = await c.system.health.query();
    expect(health.services.instruction_service).toBe("available");
    // change_password last: the mock really changes it, and every earlier token of the user stops working.
    expect(await c.auth.changePassword.mutate({ oldPassword: "trader123", newPassword: "trader123-new" })).toEqual({
      changed: true,
    });
    await expect(c.auth.me.query()).rejects.toThrow("Token revoked: the password was changed");
    const changed = client(await login(gateway.url, "trader1", "trader123-new"));
    await changed.auth.changePassword.mutate({ oldPassword: "trader123-new", newPassword: "trader123" });
    trader = await login(gateway.url, "trader1", "trader123");
  });

  it("runs the source document's curl example as written", async () => {
    const res = await fetch(`${gateway.url}/api/v1/instructions/parse`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${trader}` },
      body: '{"text": "双卖 500 当月 万1 的v", "accounts": ["account1", "account2"]}',
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      instructions: Array<{ type: string; size: { unit: string; value: number } }>;
      accounts: string[];
    };
    expect(body.accounts).toEqual(["account1", "account2"]);
    expect(body.instructions[0]).toMatchObject({ type: "straddle", size: { unit: "vega", value: 10000 } });
  });

  it("streams live market ticks, account updates and algorithm progress", async () => {
    const c = client(trader);
    const algos = await c.algorithm.list.query();
    const running = algos.filter((x) => x.status === "running").map((x) => x.id);
    const ticks = collect<Tracked<{ symbol: string }>>((h) =>
      c.market.onTick.subscribe({ symbols: ["510500", "510300"] }, h),
    );
    const accounts = collect<Tracked<{ accountId: string }>>((h) =>
      c.account.onUpdate.subscribe({ accountIds: ["account1", "account2"] }, h),
    );
    const progress = collect<Tracked<{ algorithmId: string }>>((h) =>
      c.algorithm.onProgress.subscribe({ algorithmIds: running }, h),
    );
    await waitFor(
      () => ticks.data.length >= 2 && accounts.data.length >= 2 && progress.data.length >= 1,
      "live events from the mock",
    );
    expect(ticks.data.every((e) => ["510500", "510300"].includes(e.data.symbol))).toBe(true);
    expect(accounts.data.every((e) => ["account1", "account2"].includes(e.data.accountId))).toBe(true);
    expect(progress.data.every((e) => running.includes(e.data.algorithmId))).toBe(true);
    // Ids are "<topic>:<epoch>.<seq>": the sequence numbers are integers, in delivery order.
    const seqs = ticks.data.map((e) => Number(e.id.slice(e.id.lastIndexOf(".") + 1)));
    expect(seqs.every((n) => Number.isSafeInteger(n) && n > 0)).toBe(true);
    expect(seqs.every((n, i) => i === 0 || n > seqs[i - 1]!)).toBe(true);
    for (const s of [ticks, accounts, progress]) s.stop();
  });

  it("parse -> execute (dry run, then real) -> live updates -> cancel", async () => {
    const c = client(trader);
    const parsed = await c.instruction.parse.mutate({ text: "双卖 500 当月 万1 的v", accounts: ["account1"] });
    const dry = collect<Tracked<{ id: string; status: string; dryRun: boolean }>>((h) =>
      c.instruction.executeLive.subscribe(
        { instructions: parsed.instructions, accounts: ["account1"], dryRun: true },
        h,
      ),
    );
    await waitFor(
      () => dry.data.some((e) => ["completed", "cancelled", "failed"].includes(e.data.status)),
      "the dry run to finish",
    );
    expect(dry.data[0]!.data.dryRun).toBe(true);
    dry.stop();

    const live = collect<Tracked<{ id: string; status: string; progress: number }>>((h) =>
      c.instruction.executeLive.subscribe(
        { instructions: parsed.instructions, accounts: ["account1"], dryRun: false },
        h,
      ),
    );
    await waitFor(() => live.data.length >= 3, "live execution updates");
    const id = live.data[0]!.data.id;
    expect(live.data.every((e) => e.data.id === id)).toBe(true);
    if (!["completed", "failed"].includes(live.data.at(-1)!.data.status)) {
      const cancelled = await c.instruction.cancel.mutate({ executionId: id });
      expect(["cancelled", "completed"]).toContain(cancelled.status);
    }
    await waitFor(() => live.completed, "the stream to end");
    expect(["cancelled", "completed"]).toContain(live.data.at(-1)!.data.status);

    // A viewer (read-only in the mock) may neither preview nor execute, nor cancel.
    const v = client(viewer);
    await expect(
      v.instruction.execute.mutate({ instructions: parsed.instructions, accounts: ["account1"], dryRun: true }),
    ).rejects.toMatchObject({ data: { code: "FORBIDDEN" } });
    await expect(v.instruction.cancel.mutate({ executionId: id })).rejects.toMatchObject({
      data: { code: "FORBIDDEN" },
    });
    await expect(
      v.instruction.execute.mutate({ instructions: parsed.instructions, accounts: ["account1"] }),
    ).rejects.toMatchObject({ data: { code: "FORBIDDEN" } });
  });
});

describe("USE_MOCK_ZMQ", () => {
  it("starts the mock backend in-process when no broker listens, and reuses one that does", async () => {
    const brokerUrl = `tcp://localhost:${await freePort()}`;
    const pubUrl = `tcp://localhost:${await freePort()}`;
    const first = await startGateway({
      ...testConfig({ brokerUrl, pubUrl }),
      useMock: true,
      jwtSecret: undefined,
      mockTickMs: 200,
    });
    try {
      expect(first.brokerUrl).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
      const health = (await waitFor(async () => {
        const r = await rest(first.url, "GET", "/health");
        return r.body.status === "ok" ? r : undefined;
      }, "mock services to register"))!;
      expect(health.body.mode).toBe("mock");
      const token = await login(first.url, "trader1", "trader123");
      expect((await rest(first.url, "GET", "/api/v1/accounts", { token })).status).toBe(200);
      // Its own mock deduplicates, so writes are retried like reads; its broker's figures are shown.
      const after = (await rest(first.url, "GET", "/health")).body;
      expect(after.dedupeWrites).toBe(true);
      expect(after.broker).toMatchObject({ knownDown: false, extensions: "yes" });
      expect(after.mockBroker.requests).toBeGreaterThanOrEqual(3);
      expect(after.mockBroker).toMatchObject({ undelivered: 0, held: 0, backlog: 0 });
      const metrics = (await rest(first.url, "GET", "/metrics")).body as string;
      expect(metric(metrics, "gateway_mock_broker_requests")).toBeGreaterThanOrEqual(3);
      expect(metric(metrics, "gateway_mdp_broker_extensions")).toBe(1);

      // A second gateway finds the first one's mock listening and does not start another.
      // It did not start that broker, so it may not assume the public dev secret: it needs its own.
      await expect(
        startGateway({ ...testConfig({ brokerUrl, pubUrl }), useMock: true, jwtSecret: undefined }),
      ).rejects.toThrow(/JWT_SECRET/);
      const second = await startGateway({ ...testConfig({ brokerUrl, pubUrl }), useMock: true });
      try {
        expect(second.brokerUrl).toBe(brokerUrl);
        const real = (await rest(second.url, "GET", "/health")).body;
        expect(real).toMatchObject({ mode: "real", dedupeWrites: false, mockBroker: null });
        const t2 = await login(second.url, "viewer1", "viewer123");
        expect((await rest(second.url, "GET", "/api/v1/accounts", { token: t2 })).status).toBe(200);
      } finally {
        await second.close();
      }
    } finally {
      await first.close();
    }
  });
});

import { waitFor } from "@desk/testkit";
import type { Execution } from "@desk/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { account, algorithm, execution, marketTick } from "./helpers/fake-backend.js";
import { metric } from "./helpers/delivery.js";
import { login, rest, startStack } from "./helpers/stack.js";
import { collect, createClient } from "./helpers/ws-client.js";

type Tracked<T> = { id: string; data: T };

describe("subscriptions over WebSocket", () => {
  let stack: Awaited<ReturnType<typeof startStack>>;
  let trader: string;
  let viewer: string;
  const clients: Array<{ close(): Promise<void> | void }> = [];

  beforeAll(async () => {
    stack = await startStack();
    trader = await login(stack.gateway.url, "trader1", "trader123");
    viewer = await login(stack.gateway.url, "viewer1", "viewer123");
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    await stack?.close();
  });

  function client(token: string | (() => string | undefined) | undefined) {
    const c = createClient(stack.gateway.url, stack.gateway.wsUrl, token);
    clients.push(c);
    return c.client;
  }

  const metricsText = async () => (await fetch(`${stack.gateway.url}/metrics`)).text();

  /** Messages the gateway's SUB socket has received (its /health figure). */
  async function receivedByGateway(): Promise<number> {
    return (await rest(stack.gateway.url, "GET", "/health")).body.pubsub.received as number;
  }

  /** Publishes until `check` holds: a SUB socket's subscription reaches the PUB side asynchronously. */
  async function publishUntil(publish: () => Promise<void>, check: () => boolean) {
    await waitFor(async () => {
      await publish();
      return check();
    }, "events to arrive");
  }

  /**
   * Follows `symbol`'s ticks until one arrives, stops, and lets the ticks `missed` reach the
   * gateway while nobody listens (within the linger): the id to resume from.
   */
  async function missWhileAway(c: ReturnType<typeof client>, symbol: string, missed: number[]): Promise<string> {
    const first = collect<Tracked<{ seq: number }>>((h) => c.market.onTick.subscribe({ symbols: [symbol] }, h));
    await publishUntil(
      () => stack.backend.publish(`market.${symbol}`, marketTick(symbol, stack.backend.nextSeq())),
      () => first.data.length > 0,
    );
    const lastId = first.data.at(-1)!.id;
    first.stop();
    const received = await receivedByGateway();
    for (const seq of missed) await stack.backend.publish(`market.${symbol}`, marketTick(symbol, seq));
    await waitFor(
      async () => (await receivedByGateway()) >= received + missed.length,
      "the gateway to buffer the missed events",
    );
    return lastId;
  }

  it("streams market ticks by symbol, both two-frame and vn.py one-frame", async () => {
    const c = client(trader);
    const sub = collect<Tracked<{ symbol: string; seq: number }>>((h) =>
      c.market.onTick.subscribe({ symbols: ["510500"] }, h),
    );
    await publishUntil(
      () => stack.backend.publish("market.510500", marketTick("510500", stack.backend.nextSeq())),
      () => sub.data.length > 0,
    );
    expect(sub.data[0]!.data.symbol).toBe("510500");
    expect(sub.data[0]!.id).toMatch(/^market\.510500:[0-9a-z]+\.\d+$/);
    const before = sub.data.length;
    await stack.backend.publish("market.510500", marketTick("510500", 999), "vnpy");
    await stack.backend.publish("market.159922", marketTick("159922", 1), "vnpy");
    await stack.backend.publish("heartbeat", Date.now() / 1000, "vnpy");
    await waitFor(() => sub.data.some((d) => d.data.seq === 999), "the vn.py one-frame tick");
    expect(sub.data.slice(before).every((d) => d.data.symbol === "510500")).toBe(true);
    sub.stop();
  });

  it("streams account updates only for accounts the user may see", async () => {
    const c = client(trader);
    const sub = collect<Tracked<{ accountId: string }>>((h) =>
      c.account.onUpdate.subscribe({ accountIds: ["account1"] }, h),
    );
    const event = () => ({
      seq: stack.backend.nextSeq(),
      ts: new Date().toISOString(),
      accountId: "account1",
      account: account("account1"),
      risk: {
        accountId: "account1",
        asOf: new Date().toISOString(),
        cashDelta: 1,
        gamma: 1,
        vega: 1,
        theta: 1,
        var95: 1,
        var99: 2,
        byUnderlying: [],
      },
    });
    await publishUntil(
      () => stack.backend.publish("account.account1", event()),
      () => sub.data.length > 0,
    );
    expect(sub.data[0]!.data.accountId).toBe("account1");
    sub.stop();
    const denied = collect((h) => c.account.onUpdate.subscribe({ accountIds: ["account3"] }, h));
    await waitFor(() => denied.errors.length > 0, "the refusal");
    expect(String((denied.errors[0] as Error).message)).toContain("account3");
  });

  it("streams algorithm progress and withholds algorithms of other accounts", async () => {
    const c = client(trader);
    const sub = collect<Tracked<{ algorithmId: string }>>((h) =>
      c.algorithm.onProgress.subscribe({ algorithmIds: ["algo1", "algo3"] }, h),
    );
    const ev = (id: string, acc: string) => ({
      seq: stack.backend.nextSeq(),
      ts: new Date().toISOString(),
      algorithmId: id,
      algorithm: algorithm(id, acc),
      log: null,
    });
    await publishUntil(
      async () => {
        await stack.backend.publish("algorithm.algo3", ev("algo3", "account3"));
        await stack.backend.publish("algorithm.algo1", ev("algo1", "account1"));
      },
      () => sub.data.length > 0,
    );
    expect(sub.data.every((d) => d.data.algorithmId === "algo1")).toBe(true);
    sub.stop();
  });

  it("resumes from lastEventId without gaps", async () => {
    const c = client(trader);
    const missed = [9001, 9002, 9003];
    const lastId = await missWhileAway(c, "510300", missed);
    const resumed = collect<Tracked<{ seq: number }>>((h) =>
      c.market.onTick.subscribe({ symbols: ["510300"], lastEventId: lastId }, h),
    );
    await waitFor(() => resumed.data.some((d) => d.data.seq === 9003), "the three missed events");
    // Everything after lastId and nothing before it (a tick of the priming loop may still have
    // been in flight when lastId was read: it comes first), the missed ones in order.
    const seqOf = (id: string) => Number(id.slice(id.lastIndexOf(".") + 1));
    expect(resumed.data.every((d) => seqOf(d.id) > seqOf(lastId))).toBe(true);
    expect(resumed.data.map((d) => d.data.seq).filter((seq) => seq >= 9001)).toEqual(missed);
    resumed.stop();
    // Both written by their streams, not by tRPC's per-item loop.
    const metrics = await metricsText();
    expect(metric(metrics, "gateway_subscription_streams_total", 'delivery="direct"')).toBeGreaterThanOrEqual(2);
    expect(metrics).not.toContain('gateway_subscription_streams_total{delivery="trpc"}');
  });

  it("resumes a subscription resent the way tRPC's client resends it (params.lastEventId), written by its stream", async () => {
    const lastId = await missWhileAway(client(trader), "159915", [9101, 9102]);
    const directBefore = metric(await metricsText(), "gateway_subscription_streams_total", 'delivery="direct"');
    const ws = new WebSocket(`${stack.gateway.wsUrl}?connectionParams=1`);
    clients.push({ close: () => ws.terminate() });
    const frames: Array<{
      id?: unknown;
      result?: { type: string; id?: string; data?: { json: { data: { seq: number } } } };
    }> = [];
    ws.on("message", (m) => frames.push(JSON.parse(String(m))));
    await new Promise((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    ws.send(JSON.stringify({ method: "connectionParams", data: { token: trader } }));
    ws.send(
      JSON.stringify({
        id: 7,
        jsonrpc: "2.0",
        method: "subscription",
        params: { path: "market.onTick", input: { json: { symbols: ["159915"] } }, lastEventId: lastId },
      }),
    );
    const data = () => frames.filter((f) => f.result?.type === "data");
    await waitFor(() => data().some((f) => f.result?.data?.json.data.seq === 9102), "the missed events");
    expect(frames[0]).toEqual({ id: 7, jsonrpc: "2.0", result: { type: "started" } });
    expect(
      data()
        .map((f) => f.result!.data!.json.data.seq)
        .filter((seq) => seq >= 9101),
    ).toEqual([9101, 9102]);
    expect(data().every((f) => f.id === 7)).toBe(true);
    const directAfter = metric(await metricsText(), "gateway_subscription_streams_total", 'delivery="direct"');
    expect(directAfter - directBefore).toBe(1);
    ws.send(JSON.stringify({ id: 7, jsonrpc: "2.0", method: "subscription.stop" }));
    await waitFor(() => frames.some((f) => f.result?.type === "stopped"), "tRPC's stopped");
  });

  it("refuses subscriptions without a valid token, and a viewer's real execution", async () => {
    const anon = client(undefined);
    const sub = collect((h) => anon.market.onTick.subscribe({ symbols: ["510500"] }, h));
    await waitFor(() => sub.errors.length > 0, "the refusal");
    expect((sub.errors[0] as { data?: { code?: string } }).data?.code).toBe("UNAUTHORIZED");
    const v = client(viewer);
    const live = collect((h) =>
      v.instruction.executeLive.subscribe(
        { instructions: [{ type: "close", text: "平仓" }], accounts: ["account1"], dryRun: false },
        h,
      ),
    );
    await waitFor(() => live.errors.length > 0, "the viewer's refusal");
    expect((live.errors[0] as { data?: { code?: string } }).data?.code).toBe("FORBIDDEN");
  });

  it("parse -> execute (dry run, then real) -> live updates -> cancel", async () => {
    const c = client(trader);
    const parsed = await c.instruction.parse.mutate({ text: "双卖 500 当月 万1 的v", accounts: ["account1"] });
    // Dry run: the execution is complete at once and the stream ends.
    const dry = collect<Tracked<{ id: string; status: string; dryRun: boolean }>>((h) =>
      c.instruction.executeLive.subscribe(
        { instructions: parsed.instructions, accounts: parsed.accounts, dryRun: true },
        h,
      ),
    );
    await waitFor(() => dry.completed || dry.data.length > 0, "the dry run");
    expect(dry.data[0]!.data).toMatchObject({ dryRun: true, status: "completed" });
    dry.stop();

    const live = collect<Tracked<{ id: string; status: string; progress: number }>>((h) =>
      c.instruction.executeLive.subscribe(
        { instructions: parsed.instructions, accounts: parsed.accounts, dryRun: false },
        h,
      ),
    );
    await waitFor(() => live.data.length >= 2, "the start and the snapshot");
    const id = live.data[0]!.data.id;
    expect(live.data[0]!.id).toMatch(new RegExp(`^execution\\.${id}:[0-9a-z]+\\.\\d+$`));
    const update = (status: Execution["status"], progress: number) => ({
      seq: stack.backend.nextSeq(),
      ts: new Date().toISOString(),
      executionId: id,
      execution: { ...execution(id, status, false), progress },
    });
    await stack.backend.publish(`execution.${id}`, update("running", 0.5));
    await waitFor(() => live.data.some((d) => d.data.progress === 0.5), "the 0.5 update");
    const cancelled = await c.instruction.cancel.mutate({ executionId: id });
    expect(cancelled.status).toBe("cancelled");
    await stack.backend.publish(`execution.${id}`, update("cancelled", 0.5));
    await waitFor(() => live.completed, "the stream to end on a terminal status");
    expect(live.data.at(-1)!.data.status).toBe("cancelled");
    const status = await c.instruction.status.query({ executionId: id });
    expect(status.status).toBe("cancelled");
  });

  it("follows an execution started over REST, and counts ws clients in /metrics", async () => {
    const c = client(trader);
    const ex = await c.instruction.execute.mutate({
      instructions: [{ type: "close", text: "平仓" }],
      accounts: ["account1"],
    });
    const sub = collect<Tracked<{ status: string }>>((h) =>
      c.instruction.onExecution.subscribe({ executionId: ex.id }, h),
    );
    await waitFor(() => sub.data.length > 0, "the snapshot");
    expect(sub.data[0]!.data.status).toBe("running");
    const metrics = await metricsText();
    expect(metrics).toMatch(/gateway_ws_clients [1-9]/);
    expect(metrics).toMatch(/gateway_subscriptions\{kind="execution"\} [1-9]/);
    sub.stop();
  });

  it("executeLive resumed with lastEventId follows the same execution and never starts another", async () => {
    const c = client(trader);
    const input = { instructions: [{ type: "close" as const, text: "平仓" }], accounts: ["account1"], dryRun: false };
    const first = collect<Tracked<{ id: string; status: string; progress: number }>>((h) =>
      c.instruction.executeLive.subscribe(input, h),
    );
    await waitFor(() => first.data.length >= 2, "the start and the snapshot");
    const id = first.data[0]!.data.id;
    const lastId = first.data.at(-1)!.id;
    first.stop();
    const count = stack.backend.executions.size;
    const resumed = collect<Tracked<{ id: string; progress: number }>>((h) =>
      c.instruction.executeLive.subscribe({ ...input, lastEventId: lastId }, h),
    );
    const update = {
      seq: stack.backend.nextSeq(),
      ts: new Date().toISOString(),
      executionId: id,
      execution: { ...execution(id, "running", false), progress: 0.7 },
    };
    await waitFor(async () => {
      await stack.backend.publish(`execution.${id}`, update);
      return resumed.data.some((d) => d.data.progress === 0.7);
    }, "the resumed update");
    expect(resumed.data.every((d) => d.data.id === id)).toBe(true);
    expect(stack.backend.executions.size).toBe(count);
    resumed.stop();
  });
});

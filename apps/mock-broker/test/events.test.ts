import { type ExecutionEvent, type Instruction, parseTopic, topics } from "@desk/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MockHarness, waitFor } from "./helpers.js";

/**
 * The PUB side: two-frame [topic, pickle(event)] messages, every event valid
 * for its topic's schema with a per-topic increasing seq and an ISO ts; the
 * simulation moves prices, account P&L, algorithms and executions.
 */
const h = new MockHarness();
let all: ReturnType<MockHarness["subscribe"]>;
beforeAll(async () => {
  // fillMs long enough that a cancel lands mid-way even on a loaded machine.
  await h.start({ tickMs: 400, fillMs: 200 });
  all = h.subscribe([""]);
});
afterAll(() => h.close());

function eventsOf(prefix: string) {
  return all.events.filter((e) => e.topic.startsWith(prefix));
}

describe("published events", () => {
  it("every event matches its topic's schema, with increasing seq per topic", async () => {
    await waitFor(() => eventsOf("account.account3").length >= 3, "three ticks of account events");
    expect(all.frames.every((n) => n === 2)).toBe(true);
    const lastSeq = new Map<string, number>();
    for (const { topic, event } of all.events) {
      const t = parseTopic(topic);
      expect(t, topic).not.toBeNull();
      const parsed = topics[t!.kind].event.parse(event);
      expect(Number.isNaN(Date.parse(parsed.ts))).toBe(false);
      expect(parsed.seq, topic).toBeGreaterThan(lastSeq.get(topic) ?? 0);
      lastSeq.set(topic, parsed.seq);
    }
    const kinds = new Set(all.events.map((e) => parseTopic(e.topic)!.kind));
    expect(kinds).toEqual(new Set(["market", "account", "algorithm"]));
  });

  it("publishes the four underlyings and their option chains, with prices that move", async () => {
    for (const code of ["510050", "510300", "510500", "159915"]) {
      await waitFor(() => eventsOf(`market.${code}`).length >= 3, `ticks of ${code}`);
    }
    const lasts = eventsOf("market.510500").map((e) => (e.event as { last: number }).last);
    await waitFor(
      () => new Set(eventsOf("market.510500").map((e) => (e.event as { last: number }).last)).size > 1 || undefined,
      "500ETF price moves",
      30_000,
    );
    expect(lasts.length).toBeGreaterThan(0);
    const options = all.events.filter((e) => (e.event as { kind?: string }).kind === "option");
    const months = new Set(options.map((e) => (e.event as { expiry: string }).expiry));
    expect(months.size).toBeGreaterThanOrEqual(4); // current, next and two quarterly months
    const sample = topics.market.event.parse(options[0]!.event);
    expect(sample.kind === "option" && sample.iv > 0).toBe(true);
  });

  it("account events follow the prices", async () => {
    await waitFor(
      () =>
        new Set(
          eventsOf("account.account1").map((e) => (e.event as { account: { dailyPnl: number } }).account.dailyPnl),
        ).size > 1 || undefined,
      "account1 P&L moves",
      30_000,
    );
  });

  it("running algorithms progress and publish their log lines", async () => {
    const progressed = await waitFor(() => {
      const evs = eventsOf("algorithm.algo-001").map((e) => topics.algorithm.event.parse(e.event));
      return evs.length >= 2 && evs.at(-1)!.algorithm.filledQuantity > evs[0]!.algorithm.filledQuantity && evs;
    }, "algo-001 progresses");
    expect(progressed.at(-1)!.log?.message).toMatch(/filled|completed/);
    expect(eventsOf("algorithm.algo-003")).toHaveLength(0); // paused: nothing to report
  });
});

describe("executions over the wire", () => {
  const straddle: Instruction[] = [
    {
      type: "straddle",
      text: "双卖 500 当月 10手",
      side: "sell",
      structure: "straddle",
      otmSteps: 0,
      underlying: "510500",
      month: "current",
      size: { unit: "lots", value: 10 },
    },
  ];
  const executionEvents = (id: string): ExecutionEvent[] =>
    eventsOf(`execution.${id}`).map((e) => topics.execution.event.parse(e.event));

  it("an execution fills leg by leg to completed, publishing each step", async () => {
    const e = await h.call("instruction_service", "execute_instructions", [straddle, ["account1", "account2"]]);
    const last = await waitFor(
      () => executionEvents(e.id).at(-1)?.execution.status === "completed" && executionEvents(e.id),
      "execution completed",
      30_000,
    );
    const progress = last.map((ev) => ev.execution.progress);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(progress[0]).toBe(0);
    expect(last.length).toBeGreaterThan(4);
    // Leg by leg: while the first leg works, the others are still pending.
    const partial = last.find((ev) => ev.execution.legs[0]!.status === "working");
    expect(partial?.execution.legs.slice(1).every((l) => l.status === "pending")).toBe(true);
    expect(last.at(-1)!.execution.legs.every((l) => l.status === "filled" && l.filledQuantity === 10)).toBe(true);
  });

  it("a cancel mid-way ends cancelled with the unfilled legs cancelled", async () => {
    const e = await h.call("instruction_service", "execute_instructions", [straddle, ["account1", "account2"]]);
    await waitFor(
      async () => (await h.call("instruction_service", "get_execution_status", [e.id])).progress > 0,
      "first fill",
    );
    const cancelled = await h.call("instruction_service", "cancel_execution", [e.id]);
    expect(cancelled.status).toBe("cancelled");
    expect(cancelled.progress).toBeGreaterThan(0);
    expect(cancelled.progress).toBeLessThan(1);
    expect(cancelled.legs.some((l) => l.status === "cancelled")).toBe(true);
    expect(cancelled.legs.every((l) => l.status === "filled" || l.status === "cancelled")).toBe(true);
    await waitFor(() => executionEvents(e.id).at(-1)?.execution.status === "cancelled", "cancel published");
    // Nothing fills after a cancel.
    const after = await h.call("instruction_service", "get_execution_status", [e.id]);
    expect(after.legs.map((l) => l.filledQuantity)).toEqual(cancelled.legs.map((l) => l.filledQuantity));
  });

  it("a dry run publishes its completed execution too", async () => {
    const e = await h.call("instruction_service", "execute_instructions", [straddle, ["account3"], true]);
    const evs = await waitFor(() => executionEvents(e.id).length > 0 && executionEvents(e.id), "dry-run event");
    expect(evs[0]!.execution).toMatchObject({ status: "completed", dryRun: true });
  });
});

describe("reproducibility", () => {
  it("the same seed gives the same positions (account3 is untouched by the executions above)", async () => {
    const other = await new MockHarness().start({ tickMs: 60_000, seed: 7 });
    const third = await new MockHarness().start({ tickMs: 60_000, seed: 8 });
    try {
      const a = await other.call("account_service", "get_positions", ["account3"]);
      const b = await h.call("account_service", "get_positions", ["account3"]);
      expect(a.map((p) => [p.code, p.avgPrice])).toEqual(b.map((p) => [p.code, p.avgPrice]));
      const c = await third.call("account_service", "get_positions", ["account3"]);
      expect(c.map((p) => p.avgPrice)).not.toEqual(a.map((p) => p.avgPrice));
    } finally {
      await other.close();
      await third.close();
    }
  });
});

import { describe, expect, it } from "vitest";
import {
  draftKey,
  idleOrder,
  liveSubscription,
  type OrderDraft,
  type OrderState,
  orderReducer,
} from "../src/lib/order";
import type { Execution } from "../src/lib/types";
import { shortStraddle } from "./fixtures";

const draft: OrderDraft = { instructions: [shortStraddle], accounts: ["account1", "account2"] };

function execution(status: Execution["status"], updatedAt: string, id = "exec-000001"): Execution {
  return {
    id,
    status,
    dryRun: false,
    createdAt: "2026-01-01T00:00:00.000Z",
    updatedAt,
    progress: status === "completed" ? 1 : 0.3,
    legs: [],
    fills: [],
  };
}

function run(...actions: Parameters<typeof orderReducer>[1][]): OrderState {
  return actions.reduce(orderReducer, idleOrder);
}

describe("orderReducer", () => {
  it("asks for confirmation, then sends with the clientOrderId made at confirm", () => {
    const state = run({ type: "request", draft }, { type: "confirm", clientOrderId: "order-A" });
    expect(state).toMatchObject({ phase: "live", clientOrderId: "order-A", attempt: 0, execution: null });
  });

  it("ignores a second confirm (double click): the first order and its id stand", () => {
    const state = run(
      { type: "request", draft },
      { type: "confirm", clientOrderId: "order-A" },
      { type: "confirm", clientOrderId: "order-B" },
    );
    expect(state).toMatchObject({ phase: "live", clientOrderId: "order-A" });
  });

  it("offers no second order while one is live", () => {
    const live = run({ type: "request", draft }, { type: "confirm", clientOrderId: "order-A" });
    expect(orderReducer(live, { type: "request", draft })).toBe(live);
  });

  it("follows updates in order and ends on a terminal status", () => {
    const running = run(
      { type: "request", draft },
      { type: "confirm", clientOrderId: "order-A" },
      { type: "update", execution: execution("running", "2026-01-01T00:00:02.000Z") },
    );
    expect(running).toMatchObject({ phase: "live", execution: { status: "running" } });
    // A replayed older event does not move it back.
    expect(orderReducer(running, { type: "update", execution: execution("pending", "2026-01-01T00:00:01.000Z") })).toBe(
      running,
    );
    // Another execution's event is not this order's.
    expect(
      orderReducer(running, {
        type: "update",
        execution: execution("completed", "2026-01-01T00:00:09.000Z", "exec-2"),
      }),
    ).toBe(running);
    const done = orderReducer(running, {
      type: "update",
      execution: execution("completed", "2026-01-01T00:00:05.000Z"),
    });
    expect(done).toMatchObject({ phase: "done", clientOrderId: "order-A", execution: { status: "completed" } });
    expect(orderReducer(done, { type: "dismiss" })).toEqual(idleOrder);
  });

  it("retries with the same clientOrderId, and follows (never re-sends) once the execution is known", () => {
    const failedBeforeAnyUpdate = run(
      { type: "request", draft },
      { type: "confirm", clientOrderId: "order-A" },
      { type: "fail", error: new Error("socket closed") },
    );
    const retried = orderReducer(failedBeforeAnyUpdate, { type: "retry" });
    expect(retried).toMatchObject({ phase: "live", attempt: 1, clientOrderId: "order-A", error: null });
    if (retried.phase !== "live") throw new Error("not live");
    expect(liveSubscription(retried)).toEqual({
      procedure: "executeLive",
      input: { instructions: draft.instructions, accounts: draft.accounts, dryRun: false, clientOrderId: "order-A" },
    });

    const failedAfterUpdate = run(
      { type: "request", draft },
      { type: "confirm", clientOrderId: "order-A" },
      { type: "update", execution: execution("running", "2026-01-01T00:00:02.000Z") },
      { type: "fail", error: new Error("socket closed") },
      { type: "retry" },
    );
    if (failedAfterUpdate.phase !== "live") throw new Error("not live");
    expect(liveSubscription(failedAfterUpdate)).toEqual({
      procedure: "onExecution",
      input: { executionId: "exec-000001" },
    });
  });

  it("keeps the first subscription's plan while live (no resubscribe on the first update)", () => {
    const live = run(
      { type: "request", draft },
      { type: "confirm", clientOrderId: "order-A" },
      { type: "update", execution: execution("running", "2026-01-01T00:00:02.000Z") },
    );
    if (live.phase !== "live") throw new Error("not live");
    expect(liveSubscription(live).procedure).toBe("executeLive");
  });

  it("retries only after a failure, abandons only a failed order, and Back leaves nothing sent", () => {
    const live = run({ type: "request", draft }, { type: "confirm", clientOrderId: "order-A" });
    expect(orderReducer(live, { type: "retry" })).toBe(live);
    expect(orderReducer(live, { type: "abandon" })).toBe(live);
    expect(orderReducer(orderReducer(live, { type: "fail", error: "x" }), { type: "abandon" })).toEqual(idleOrder);
    expect(run({ type: "request", draft }, { type: "back" })).toEqual(idleOrder);
  });
});

describe("draftKey", () => {
  it("ignores surrounding spaces and account order, not the text", () => {
    expect(draftKey(" 双卖 500 ", ["b", "a"])).toBe(draftKey("双卖 500", ["a", "b"]));
    expect(draftKey("双卖 500", ["a"])).not.toBe(draftKey("双买 500", ["a"]));
  });
});

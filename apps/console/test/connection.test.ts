import { describe, expect, it } from "vitest";
import { connectionView, healthProblems } from "../src/lib/connection";
import { tickFreshness } from "../src/lib/freshness";
import type { HealthReport } from "../src/lib/types";

function report(
  overrides: { reachable?: boolean; pubsub?: string; account?: "available" | "no_workers" } = {},
): HealthReport {
  return {
    status: "ok",
    mode: "mock",
    uptimeSeconds: 1,
    startedAt: "2026-01-01T00:00:00.000Z",
    checkedAt: "2026-01-01T00:00:01.000Z",
    broker: {
      url: "tcp://127.0.0.1:1",
      endpoint: "tcp://127.0.0.1:1",
      reachable: overrides.reachable ?? true,
      knownDown: !(overrides.reachable ?? true),
      extensions: "yes",
    },
    dedupeWrites: true,
    services: {
      auth_service: "available",
      account_service: overrides.account ?? "available",
      algorithm_service: "available",
      instruction_service: "available",
    },
    requests: {
      pending: 0,
      sent: 0,
      replies: 0,
      timeouts: 0,
      retries: 0,
      reconnects: 0,
      lateReplies: 0,
      brokerErrors: 0,
      badReplies: 0,
      outcomeUnknown: 0,
      withdrawn: 0,
    },
    mockBroker: null,
    pubsub: {
      url: "tcp://127.0.0.1:2",
      state: overrides.pubsub ?? "connected",
      topics: 1,
      received: 1,
      rejected: 0,
      lastMessageAt: null,
      lastVnpyHeartbeatAt: null,
    },
    websocket: { clients: 1, socketio: 0 },
    pickleCodec: "native",
    security: { curve: false, handshakeFailures: { broker: 0, pubsub: 0 }, broker: null },
  };
}

const open = { state: "pending" as const, error: null };

describe("connectionView", () => {
  it("is connected with an open socket and a good health report", () => {
    const v = connectionView({
      socket: open,
      wasConnected: true,
      health: { report: report(), unreachable: false },
      online: true,
    });
    expect(v).toEqual({ status: "connected", detail: null, degraded: [] });
  });

  it("is reconnecting when an open socket was lost", () => {
    const v = connectionView({
      socket: { state: "connecting", error: new Error("WebSocket closed") },
      wasConnected: true,
      health: { report: report(), unreachable: false },
      online: true,
    });
    expect(v.status).toBe("reconnecting");
    expect(v.detail).toBe("connection lost, retrying");
  });

  it("is connecting on the first attempt, offline when the gateway does not answer or the browser is offline", () => {
    const first = { state: "connecting" as const, error: null };
    expect(
      connectionView({ socket: first, wasConnected: false, health: { report: null, unreachable: false }, online: true })
        .status,
    ).toBe("connecting");
    expect(
      connectionView({ socket: first, wasConnected: true, health: { report: null, unreachable: true }, online: true }),
    ).toMatchObject({
      status: "offline",
      detail: "gateway unreachable",
    });
    expect(
      connectionView({
        socket: open,
        wasConnected: true,
        health: { report: report(), unreachable: false },
        online: false,
      }).status,
    ).toBe("offline");
  });

  it("is connected without a socket (signed out: nothing subscribed) once /health answered", () => {
    expect(
      connectionView({
        socket: null,
        wasConnected: false,
        health: { report: report(), unreachable: false },
        online: true,
      }).status,
    ).toBe("connected");
    expect(
      connectionView({ socket: null, wasConnected: false, health: { report: null, unreachable: false }, online: true })
        .status,
    ).toBe("connecting");
  });

  it("lists what /health says is degraded", () => {
    expect(healthProblems(report({ pubsub: "disconnected", account: "no_workers" }))).toEqual([
      "pub/sub disconnected",
      "account_service no workers",
    ]);
    expect(healthProblems(report({ reachable: false }))).toEqual(["broker unreachable"]);
  });
});

describe("tickFreshness", () => {
  const base = { now: 100_000, staleAfterMs: 15_000, pubsubState: "connected", connection: "connected" as const };

  it("is live within the window and stale after it", () => {
    expect(tickFreshness({ ...base, lastTickAt: 99_000 })).toEqual({ state: "live", reason: null, ageMs: 1_000 });
    expect(tickFreshness({ ...base, lastTickAt: 80_000 })).toEqual({
      state: "stale",
      reason: "no tick for 20 s",
      ageMs: 20_000,
    });
  });

  it("waits for the first tick", () => {
    expect(tickFreshness({ ...base, lastTickAt: null }).state).toBe("waiting");
  });

  it("is stale when the gateway's pub/sub is down, even with a fresh tick", () => {
    const f = tickFreshness({ ...base, lastTickAt: 99_900, pubsubState: "disconnected" });
    expect(f).toMatchObject({ state: "stale", reason: "gateway pub/sub disconnected" });
    expect(tickFreshness({ ...base, lastTickAt: null, pubsubState: "connecting" }).state).toBe("stale");
  });

  it("is stale while our own connection is down", () => {
    expect(tickFreshness({ ...base, lastTickAt: 99_900, connection: "reconnecting" })).toMatchObject({
      state: "stale",
      reason: "connection reconnecting",
    });
  });
});

// Shared events are serialized once for all their subscribers: the frames the gateway
// writes around the cached JSON text must be the JSON that the stock encoders write.
import { Encoder } from "socket.io-parser";
import { afterEach, describe, expect, it } from "vitest";
import { trackedFrame } from "../src/http/direct-subscriptions.js";
import { startGateway } from "../src/index.js";
import { shareEventData } from "../src/shared-events.js";
import { sharedEventParser } from "../src/socket-io/parser.js";
import { transformer } from "../src/transformer.js";
import { metric, wsOnlyClient } from "./helpers/delivery.js";
import { type FakeBackend, marketTick, startFakeBackend } from "./helpers/fake-backend.js";
import { login, testConfig } from "./helpers/stack.js";
import { createClient } from "./helpers/ws-client.js";

/** What tRPC's ws loop hands its encoder for one tracked item of subscription `subscriptionId`. */
function subscriptionFrame(subscriptionId: number | string, eventId: string, data: unknown, jsonrpc = true) {
  return {
    id: subscriptionId,
    ...(jsonrpc ? { jsonrpc: "2.0" as const } : {}),
    result: { type: "data", id: eventId, data: transformer.serialize({ id: eventId, data }) },
  };
}

describe("shared-event frames", () => {
  it("a stream's own frames are the JSON tRPC's loop writes, for every subscriber", () => {
    const tick = marketTick("510050", 7);
    shareEventData(tick);
    for (const [subscriptionId, jsonrpc] of [
      [1, true],
      [42, false],
      ["sub-x", true],
    ] as const) {
      const expected = subscriptionFrame(subscriptionId, "market.510050.7", tick, jsonrpc);
      const text = trackedFrame({ id: subscriptionId, jsonrpc: jsonrpc ? "2.0" : undefined }, "market.510050.7", tick);
      expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(expected)));
    }
    // Twice the same event, two event ids (never the case, but the cache must not mix them).
    const other = JSON.parse(trackedFrame({ id: 3, jsonrpc: "2.0" }, "market.510050.8", tick));
    expect(other.result.id).toBe("market.510050.8");
    expect(other.result.data.json.id).toBe("market.510050.8");
  });

  it("leaves data that is not plain JSON to superjson (a Date stays a Date on the client)", () => {
    const event = { at: new Date(0), seq: 1 };
    shareEventData(event);
    const expected = subscriptionFrame(1, "account.a.1", event);
    expect((expected.result.data as { meta?: unknown }).meta).toBeDefined();
    const text = trackedFrame({ id: 1, jsonrpc: "2.0" }, "account.a.1", event);
    expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(expected)));
  });

  it("socket.io's encoder writes the packet the stock encoder writes", () => {
    const tick = marketTick("510300", 9);
    shareEventData(tick);
    const packet = { type: 2, nsp: "/", data: ["market:tick", tick, "market.510300.9"] };
    const ours = new sharedEventParser.Encoder().encode(packet);
    expect(ours).toEqual(new Encoder().encode(packet));
    const unshared = { type: 2, nsp: "/", data: ["market:tick", { ...tick }, "market.510300.9"] };
    expect(new sharedEventParser.Encoder().encode(unshared)).toEqual(new Encoder().encode(unshared));
  });
});

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

describe("the gateway's own time per call", () => {
  it("is in /metrics per transport, and leaves out the backend's time", async () => {
    const b: FakeBackend = await startFakeBackend();
    cleanups.push(() => b.close());
    const g = await startGateway(testConfig(b));
    cleanups.push(() => g.close());
    const token = await login(g.url, "trader1", "trader123");
    // A slow backend: 150 ms per call, none of it the gateway's.
    const original = b.handlers.account_service.get_accounts;
    b.handlers.account_service.get_accounts = async (args, kwargs) => {
      await new Promise((r) => setTimeout(r, 150));
      return original(args, kwargs);
    };
    const c = createClient(g.url, g.wsUrl, token);
    cleanups.push(() => c.close());
    await c.client.account.list.query(); // over HTTP (the helper's split link)
    const ws = wsOnlyClient(g.wsUrl, token);
    cleanups.push(() => ws.close());
    await ws.client.account.list.query();
    const text = await (await fetch(`${g.url}/metrics`)).text();
    for (const transport of ["http", "ws"]) {
      const count = metric(text, "gateway_call_overhead_seconds_count", `transport="${transport}"`);
      const sum = metric(text, "gateway_call_overhead_seconds_sum", `transport="${transport}"`);
      expect(count, transport).toBeGreaterThanOrEqual(1);
      // Each call took > 150 ms end to end; the gateway's own share is far below that.
      expect(sum / count, transport).toBeLessThan(0.1);
    }
    const procedure = metric(text, "gateway_procedure_duration_seconds_sum", 'path="account.list",type="query"');
    expect(procedure).toBeGreaterThan(0.3);
  });
});

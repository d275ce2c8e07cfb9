import { createTRPCClient, createWSClient, wsLink } from "@trpc/client";
import superjson from "superjson";
import { afterEach, describe, expect, it, vi } from "vitest";
import { WebSocket } from "ws";
import { flushWithoutTimerFloor, immediateScheduler } from "../src/immediate-flush.js";
import { closeGatewayClient, createGatewayClient, type GatewayClient } from "../src/index.js";
import { type FixtureRouter, type FixtureServer, startFixtureServer } from "./fixture-server.js";

let server: FixtureServer | undefined;
let client: GatewayClient<FixtureRouter> | undefined;
const realSetTimeout = globalThis.setTimeout;

afterEach(async () => {
  vi.useRealTimers();
  if (client) await closeGatewayClient(client);
  await server?.close();
  client = undefined;
  server = undefined;
});

/** Resolves with "timed out" after `ms` of real time, whatever the fake timers do. */
const realDeadline = (ms: number) =>
  new Promise<"timed out">((resolve) => realSetTimeout(() => resolve("timed out"), ms));

describe("the ws transport flushes on setImmediate (no 1 ms timer floor in Node)", () => {
  it("recognises the installed tRPC's WebSocket client, so the replacement is really in place", () => {
    const wsClient = createWSClient({
      url: "ws://127.0.0.1:1",
      lazy: { enabled: true, closeMs: 0 },
      WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
    });
    expect(flushWithoutTimerFloor(wsClient)).toBe(true);
    // A browser (no setImmediate) keeps tRPC's own method.
    vi.stubGlobal("setImmediate", undefined);
    try {
      expect(immediateScheduler()).toBeUndefined();
      expect(flushWithoutTimerFloor(wsClient)).toBe(false);
    } finally {
      vi.unstubAllGlobals();
    }
    expect(flushWithoutTimerFloor({}, (cb) => cb())).toBe(false);
  });

  it("answers calls over a real socket while setTimeout never fires", async () => {
    server = await startFixtureServer();
    client = createGatewayClient<FixtureRouter>({ url: server.url, token: "t", transport: "ws", keepAliveMs: false });
    await client.whoami.query(); // connected with real timers
    // tRPC's own flush waits on setTimeout(0): with that timer frozen, its calls would never leave.
    vi.useFakeTimers({ toFake: ["setTimeout"] });
    const calls = Promise.all([client.whoami.query(), client.whoami.query()]);
    const outcome = await Promise.race([calls, realDeadline(3_000)]);
    vi.useRealTimers();
    expect(outcome).not.toBe("timed out");
    expect((outcome as { token: string }[]).map((me) => me.token)).toEqual(["t", "t"]);
  });

  it("still sends the calls of one tick as one batch", async () => {
    server = await startFixtureServer();
    const wsClient = createWSClient({
      url: server.url.replace("http", "ws"),
      WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
    });
    const scheduled: number[] = [];
    const schedule = (callback: () => void) =>
      setImmediate(() => {
        scheduled.push(1);
        callback();
      });
    expect(flushWithoutTimerFloor(wsClient, schedule)).toBe(true);
    const trpc = createTRPCClient<FixtureRouter>({ links: [wsLink({ client: wsClient, transformer: superjson })] });
    try {
      await trpc.whoami.query().catch(() => undefined); // connect (no token: UNAUTHORIZED is fine)
      const before = server.wsMessages.length;
      await Promise.allSettled([trpc.whoami.query(), trpc.whoami.query(), trpc.whoami.query()]);
      const sent = server.wsMessages.slice(before);
      expect(sent).toHaveLength(1);
      expect(JSON.parse(sent[0]!)).toHaveLength(3);
      expect(scheduled.length).toBeGreaterThan(0);
    } finally {
      await wsClient.close();
    }
  });
});

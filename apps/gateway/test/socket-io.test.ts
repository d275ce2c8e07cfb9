// The socket.io transport against the fake backend: what the e2e suite (tests/e2e,
// the document's snippets against the mock) cannot reach: the token's expiry on a
// live connection, a dropped connection resumed without gaps, events big enough to
// back up a WebSocket, and the refusals the handshake and a bad payload get.
import { waitFor } from "@desk/testkit";
import { type Socket, io } from "socket.io-client";
import { afterEach, describe, expect, it } from "vitest";
import { startGateway } from "../src/index.js";
import { type FakeBackend, marketTick, startFakeBackend, straddle } from "./helpers/fake-backend.js";
import { login, rest, testConfig } from "./helpers/stack.js";
import { collect, createClient } from "./helpers/ws-client.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function stack(extra: Parameters<typeof testConfig>[1] = {}) {
  const backend = await startFakeBackend();
  cleanups.push(() => backend.close());
  const gateway = await startGateway(testConfig(backend, extra));
  cleanups.push(() => gateway.close());
  return { backend, gateway };
}

function connect(url: string, token: string | undefined, o: Parameters<typeof io>[1] = {}): Socket {
  const socket = io(url, { auth: token === undefined ? {} : { token }, reconnectionDelay: 50, ...o });
  cleanups.push(() => {
    socket.close();
  });
  return socket;
}

function record(socket: Socket) {
  const seen = {
    ticks: [] as Array<{ seq: number; id: string }>,
    errors: [] as Array<{ code: string; message: string; event: string }>,
    connectErrors: [] as Array<{ message: string; data?: unknown }>,
    disconnects: [] as string[],
  };
  socket.on("market:tick", (tick: { seq: number }, id: string) => seen.ticks.push({ seq: tick.seq, id }));
  socket.on("error", (error: (typeof seen.errors)[number]) => seen.errors.push(error));
  socket.on("connect_error", (err: Error & { data?: unknown }) =>
    seen.connectErrors.push({ message: err.message, data: err.data }),
  );
  socket.on("disconnect", (reason: string) => seen.disconnects.push(reason));
  return seen;
}

/** Publishes ticks until the socket has one (the SUB side subscribes asynchronously). */
async function firstTick(backend: FakeBackend, seen: ReturnType<typeof record>, symbol = "510500") {
  await waitFor(async () => {
    await backend.publish(`market.${symbol}`, marketTick(symbol, backend.nextSeq()));
    return seen.ticks.length > 0;
  }, "a first tick");
}

describe("socket.io handshake and events", () => {
  it("refuses a connection without a valid token, as tRPC does", async () => {
    const { gateway } = await stack();
    for (const [token, message] of [
      [undefined, "Missing bearer token"],
      ["not-a-jwt", "Invalid token"],
    ] as const) {
      const socket = connect(gateway.url, token, { reconnection: false });
      const seen = record(socket);
      await waitFor(() => seen.connectErrors.length > 0, "connect_error");
      expect(seen.connectErrors[0]).toEqual({ message, data: { code: "UNAUTHORIZED" } });
    }
  });

  it("answers a bad payload with the same code and message as tRPC", async () => {
    const { gateway } = await stack();
    const token = await login(gateway.url, "trader1", "trader123");
    const socket = connect(gateway.url, token);
    const seen = record(socket);
    const ack = await socket.emitWithAck("account:subscribe", { accountIds: "account1" });
    const trpc = createClient(gateway.url, gateway.wsUrl, token);
    cleanups.push(() => trpc.close());
    const refused = collect((h) => trpc.client.account.onUpdate.subscribe({ accountIds: "account1" } as never, h));
    await waitFor(() => refused.errors.length > 0, "tRPC's refusal");
    const trpcError = refused.errors[0] as { message: string; data: { code: string } };
    expect(ack).toEqual({
      ok: false,
      error: {
        code: trpcError.data.code,
        message: trpcError.message,
        event: "account:subscribe",
        issues: [{ path: ["accountIds"], message: "Invalid input: expected array, received string" }],
      },
    });
    expect(seen.errors).toEqual([ack.error]);
  });
});

describe("socket.io streams", () => {
  it("ends a connection's subscriptions when its token expires, and refuses its later events", async () => {
    const { backend, gateway } = await stack({ jwtTtlSeconds: 2 });
    const token = await login(gateway.url, "trader1", "trader123");
    // Reconnecting: ahead of the expiry the gateway closes the transport for a renewal;
    // a fixed token comes back the same, is not closed again, and ends at expiry.
    const socket = connect(gateway.url, token);
    const seen = record(socket);
    socket.emit("market:subscribe", { symbols: ["510500"] });
    await firstTick(backend, seen);
    await waitFor(() => seen.errors.length > 0, "the expiry", 10_000);
    expect(seen.errors[0]).toEqual({
      code: "UNAUTHORIZED",
      message: "Token expired; reconnect with a fresh token",
      event: "session",
    });
    // The renewal's close came long before; the server's own disconnect follows the error
    // once the connection's events are answered (whenIdle), so wait for that one.
    await waitFor(() => seen.disconnects.length >= 2, "the server's disconnect");
    expect(seen.disconnects).toEqual(["transport close", "io server disconnect"]);
    // The same token on a new connection: refused at the handshake.
    const again = record(connect(gateway.url, token, { reconnection: false }));
    await waitFor(() => again.connectErrors.length > 0, "the refusal");
    expect(again.connectErrors[0]?.message).toBe("Token expired");
  });

  it("renews a connection only once its events are answered: an execute in flight at the renewal gets its ack", async () => {
    const { backend, gateway } = await stack({ jwtTtlSeconds: 2 });
    const token = await login(gateway.url, "trader1", "trader123");
    const expiresAt =
      (JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as { exp: number }).exp * 1000;
    // The renewal is due 0.5 s before expiry (a quarter of the 2 s life); the write runs across it.
    const renewalAt = expiresAt - 500;
    const original = backend.handlers.instruction_service.execute_instructions;
    let reached = false;
    backend.handlers.instruction_service.execute_instructions = (async (...args: Parameters<typeof original>) => {
      reached = true;
      while (Date.now() < renewalAt + 200) await new Promise((resolve) => setTimeout(resolve, 20));
      return original(...args);
    }) as typeof original;
    const socket = connect(gateway.url, token);
    const seen = record(socket);
    const disconnectedAt: number[] = [];
    socket.on("disconnect", () => disconnectedAt.push(Date.now()));
    const ack = socket.timeout(5_000).emitWithAck("instruction:execute", {
      instructions: [straddle()],
      accounts: ["account1"],
      dryRun: false,
      clientOrderId: "order-renewal",
    });
    await waitFor(() => reached, "the execute to reach the worker");
    const answer = await ack;
    const answeredAt = Date.now();
    expect(answer).toMatchObject({ ok: true, executionId: expect.any(String) });
    // The transport was closed for the renewal after the answer, not before it.
    await waitFor(() => seen.disconnects.length > 0, "the renewal's close", 10_000);
    expect(seen.disconnects[0]).toBe("transport close");
    expect(disconnectedAt[0]).toBeGreaterThanOrEqual(answeredAt);
  });

  it("at the token's end, answers the events admitted before it, then disconnects", async () => {
    const { backend, gateway } = await stack({ jwtTtlSeconds: 2 });
    const token = await login(gateway.url, "trader1", "trader123");
    const expiresAt =
      (JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as { exp: number }).exp * 1000;
    // Connected after the renewal's moment: this connection is not renewed, it ends at expiry.
    while (Date.now() < expiresAt - 400) await new Promise((resolve) => setTimeout(resolve, 20));
    const original = backend.handlers.instruction_service.execute_instructions;
    let reached = false;
    backend.handlers.instruction_service.execute_instructions = (async (...args: Parameters<typeof original>) => {
      reached = true;
      while (Date.now() < expiresAt + 300) await new Promise((resolve) => setTimeout(resolve, 20));
      return original(...args);
    }) as typeof original;
    const socket = connect(gateway.url, token, { reconnection: false });
    const seen = record(socket);
    const ack = socket.timeout(5_000).emitWithAck("instruction:execute", {
      instructions: [straddle()],
      accounts: ["account1"],
      dryRun: false,
      clientOrderId: "order-expiry",
    });
    await waitFor(() => reached, "the execute to reach the worker");
    expect(await ack).toMatchObject({ ok: true, executionId: expect.any(String) });
    await waitFor(() => seen.disconnects.length > 0, "the disconnect at expiry", 10_000);
    expect(seen.errors.map((e) => e.message)).toContain("Token expired; reconnect with a fresh token");
    expect(seen.disconnects).toEqual(["io server disconnect"]);
  });

  it("resumes a dropped connection without gaps: the events published meanwhile are replayed", async () => {
    const { backend, gateway } = await stack({ topicLingerMs: 10_000 });
    const token = await login(gateway.url, "trader1", "trader123");
    const socket = connect(gateway.url, token);
    const seen = record(socket);
    socket.emit("market:subscribe", { symbols: ["510500"] });
    await firstTick(backend, seen);
    let recovered: boolean | undefined;
    socket.on("connect", () => {
      recovered = socket.recovered;
    });
    // The connection drops (socket.io-client reconnects by itself); ticks go on meanwhile.
    socket.io.engine.close();
    const published: number[] = [];
    for (let i = 0; i < 5; i++) {
      const seq = backend.nextSeq();
      published.push(seq);
      await backend.publish("market.510500", marketTick("510500", seq));
    }
    await waitFor(() => recovered !== undefined, "the reconnect");
    expect(recovered).toBe(true);
    const lastMissed = published.at(-1)!;
    await waitFor(() => seen.ticks.some((t) => t.seq === lastMissed), "the missed ticks");
    // Every tick once, in order, none lost across the drop.
    const seqs = seen.ticks.map((t) => t.seq);
    const fromFirstMissed = seqs.slice(seqs.indexOf(published[0]!));
    expect(fromFirstMissed.slice(0, 5)).toEqual(published);
    expect(new Set(seqs).size).toBe(seqs.length);
  });

  it("cuts off a WebSocket client that stops reading, while another keeps receiving", async () => {
    const { backend, gateway } = await stack({ wsMaxBufferedBytes: 64 * 1024, wsSlowClientGraceMs: 300 });
    const token = await login(gateway.url, "trader1", "trader123");
    const slow = connect(gateway.url, token, { transports: ["websocket"], reconnection: false });
    const slowSeen = record(slow);
    const other = connect(gateway.url, token, { transports: ["websocket"] });
    const otherSeen = record(other);
    for (const socket of [slow, other]) socket.emit("market:subscribe", { symbols: ["510500"] });
    await firstTick(backend, slowSeen);
    await waitFor(() => otherSeen.ticks.length > 0, "the other's first tick");
    // Stop reading: the kernel's buffers fill, then ws's and engine.io's.
    (slow.io.engine.transport as unknown as { ws: { pause(): void } }).ws.pause();
    const big = { ...marketTick("510500", 1), name: "x".repeat(256 * 1024) };
    await waitFor(
      async () => {
        for (let i = 0; i < 8; i++) await backend.publish("market.510500", { ...big, seq: backend.nextSeq() });
        const metrics = await rest(gateway.url, "GET", "/metrics");
        return /gateway_ws_slow_clients_closed_total [1-9]/.test(metrics.body);
      },
      "the slow client to be cut off",
      20_000,
    );
    const before = otherSeen.ticks.length;
    await waitFor(async () => {
      await backend.publish("market.510500", marketTick("510500", backend.nextSeq()));
      return otherSeen.ticks.length > before;
    }, "the other client to keep receiving");
    expect((await rest(gateway.url, "GET", "/health")).body.websocket.socketio).toBe(1);
  });

  it("counts what the WebSocket itself holds: one event bigger than the kernel's buffers is enough", async () => {
    const { backend, gateway } = await stack({ wsMaxBufferedBytes: 64 * 1024, wsSlowClientGraceMs: 300 });
    const token = await login(gateway.url, "trader1", "trader123");
    const slow = connect(gateway.url, token, { transports: ["websocket"], reconnection: false });
    const seen = record(slow);
    slow.emit("market:subscribe", { symbols: ["510500"] });
    await firstTick(backend, seen);
    (slow.io.engine.transport as unknown as { ws: { pause(): void } }).ws.pause();
    // engine.io hands it to ws at once (its own buffer stays empty); ws keeps what the kernel refuses.
    await backend.publish("market.510500", { ...marketTick("510500", backend.nextSeq()), name: "x".repeat(24 << 20) });
    await waitFor(
      async () => /gateway_ws_slow_clients_closed_total [1-9]/.test((await rest(gateway.url, "GET", "/metrics")).body),
      "the slow client to be cut off",
      20_000,
    );
  });
});

describe("socket.io at shutdown", () => {
  it("answers an instruction:execute still in flight in its ack, with the unknown outcome's ids", async () => {
    const backend = await startFakeBackend();
    cleanups.push(() => backend.close());
    const gateway = await startGateway(testConfig(backend, { shutdownGraceMs: 300 }));
    const token = await login(gateway.url, "trader1", "trader123");
    let reached = false;
    backend.handlers.instruction_service.execute_instructions = () => {
      reached = true;
      return new Promise(() => {});
    };
    const socket = connect(gateway.url, token, { reconnection: false });
    const seen = record(socket);
    const instructions = [straddle()];
    const ack = socket.emitWithAck("instruction:execute", {
      instructions,
      accounts: ["account1"],
      dryRun: false,
      clientOrderId: "order-7",
    });
    await waitFor(() => reached, "the execute to reach the worker");
    const closing = gateway.close();
    const answer = await ack;
    await closing;
    expect(answer).toMatchObject({
      ok: false,
      error: { event: "instruction:execute", outcome: "unknown", clientOrderId: "order-7" },
    });
    expect(seen.errors.at(-1)).toEqual(answer.error);
  });
});

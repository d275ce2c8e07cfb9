// The source document's "WebSocket Events", verbatim (src/document-snippets.ts), with
// socket.io-client against a real gateway and the real mock backend. Only the URL and the
// token (the `io(...)` line) and, for the execution, where `parsedInstructions` comes from
// are added. Listeners the tests add beside a snippet only record what arrives.
import type { AccountEvent, Execution, MarketTick, RealtimeError, RealtimeSession } from "@desk/sdk";
import { type GatewayClient, closeGatewayClient, createGatewayClient, login } from "@desk/sdk";
import { type Socket, io } from "socket.io-client";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  accountUpdatesSnippet,
  algorithmProgressSnippet,
  dryRunExecutionSnippet,
  instructionExecutionSnippet,
} from "../src/document-snippets.js";
import { type Stack, startStack } from "../src/stack.js";
import { until } from "../src/wait.js";

let stack: Stack;
let sdk: GatewayClient;
let traderToken: string;
const sockets: Socket[] = [];

/** The one line the document leaves to the app: where the gateway is, and the token. */
function connect(token: string): Socket {
  const socket = io(stack.url, { auth: { token }, reconnectionDelay: 200, reconnectionDelayMax: 1_000 });
  sockets.push(socket);
  return socket;
}

/** What a socket received, by event. */
function record(socket: Socket) {
  const seen = {
    accountUpdates: [] as AccountEvent[],
    executionUpdates: [] as Execution[],
    ticks: [] as MarketTick[],
    errors: [] as RealtimeError[],
    sessions: [] as RealtimeSession[],
    connects: 0,
  };
  socket.on("account:update", (update: AccountEvent) => seen.accountUpdates.push(update));
  socket.on("instruction:execution:update", (update: Execution) => seen.executionUpdates.push(update));
  socket.on("market:tick", (tick: MarketTick) => seen.ticks.push(tick));
  socket.on("error", (error: RealtimeError) => seen.errors.push(error));
  socket.on("session", (session: RealtimeSession) => seen.sessions.push(session));
  socket.on("connect", () => {
    seen.connects++;
  });
  return seen;
}

beforeAll(async () => {
  stack = await startStack({ tickMs: 200 });
  traderToken = (await login(stack.url, "trader1", "trader123")).token;
  sdk = createGatewayClient({ url: stack.url, token: traderToken });
});

afterEach(() => {
  for (const socket of sockets.splice(0)) socket.close();
  vi.restoreAllMocks();
});

afterAll(async () => {
  if (sdk) await closeGatewayClient(sdk);
  await stack?.close();
});

/** The snippets log what they receive; the tests read it from console.log. */
function consoleLines(prefix: string): unknown[] {
  const lines: unknown[] = [];
  const original = console.log;
  vi.spyOn(console, "log").mockImplementation((first: unknown, ...rest: unknown[]) => {
    if (first === prefix) lines.push(rest[0]);
    else original(first, ...rest);
  });
  return lines;
}

describe("Account Updates", () => {
  it("delivers account1's updates to the document's snippet", async () => {
    const logged = consoleLines("Account updated:");
    const socket = connect(traderToken);
    const seen = record(socket);
    accountUpdatesSnippet(socket);

    await until(() => logged.length >= 3, "three account updates logged by the snippet");
    expect(seen.errors).toEqual([]);
    expect(seen.accountUpdates.every((u) => u.accountId === "account1")).toBe(true);
    expect(logged[0]).toMatchObject({
      accountId: "account1",
      account: { id: "account1" },
      risk: { accountId: "account1" },
    });
  });

  it("refuses a trader another desk's account with an error event, and sends none of its updates", async () => {
    const admin = connect((await login(stack.url, "admin", "admin123")).token);
    const adminSeen = record(admin);
    admin.emit("account:subscribe", { accountIds: ["account3"] });

    const socket = connect(traderToken);
    const seen = record(socket);
    // The document's account snippet with an account that is not trader1's (every mock user
    // may see account1).
    socket.emit("account:subscribe", { accountIds: ["account3"] });
    socket.on("account:update", (update) => {
      console.log("Account updated:", update);
    });

    await until(() => seen.errors.length > 0, "an error event");
    expect(seen.errors[0]).toEqual({
      code: "FORBIDDEN",
      message: "No access to account(s): account3",
      event: "account:subscribe",
    });
    // account3 kept publishing meanwhile (the admin sees it); the trader saw none of it.
    const before = adminSeen.accountUpdates.length;
    await until(() => adminSeen.accountUpdates.length >= before + 3, "account3 updates to the admin");
    expect(seen.accountUpdates).toEqual([]);
    // The same refusal, word for word, as tRPC gives.
    const trpc = await new Promise<unknown>((resolve) => {
      const sub = sdk.account.onUpdate.subscribe(
        { accountIds: ["account3"] },
        { onError: (err) => resolve({ message: err.message, code: err.data?.code }), onData: () => sub.unsubscribe() },
      );
    });
    expect(trpc).toEqual({ message: "No access to account(s): account3", code: "FORBIDDEN" });
  });
});

describe("Algorithm Progress", () => {
  it("runs the algorithm snippet: algo1 accepted, the mock's running algorithm's progress reaches its handler", async () => {
    const algorithms = await sdk.algorithm.list.query();
    const running = algorithms.find((a) => a.status === "running");
    if (!running) throw new Error("no running algorithm in the mock");
    const logged = consoleLines("Algorithm progress:");
    const socket = connect(traderToken);
    const seen = record(socket);
    algorithmProgressSnippet(socket);
    // The document's 'algo1' is not one of the mock's: subscribing to it is accepted (no error)
    // and delivers nothing; the mock's running algorithm then reaches the snippet's handler.
    const algoId = running.id;
    socket.emit("algorithm:subscribe", { algorithmIds: [algoId] });

    await until(() => logged.length >= 2, "two algorithm updates logged by the snippet");
    expect(logged[0]).toMatchObject({ algorithmId: algoId, algorithm: { id: algoId } });
    expect(seen.errors).toEqual([]);
  });
});

describe("Instruction Execution", () => {
  async function execute(dryRun: boolean) {
    const { instructions: parsedInstructions } = await sdk.instruction.parse.mutate({
      text: "双卖 500 当月 万1 的v",
      accounts: ["account1"],
    });
    const logged = consoleLines("Execution update:") as Execution[];
    const socket = connect(traderToken);
    const seen = record(socket);
    (dryRun ? dryRunExecutionSnippet : instructionExecutionSnippet)(socket, parsedInstructions);

    await until(() => logged.some((u) => u.status === "completed") || seen.errors.length > 0, "completed", 45_000);
    expect(seen.errors).toEqual([]);
    // Followed until it ended, and no longer: a dropped connection resumes without it.
    const sessions = seen.sessions.length;
    socket.io.engine.close();
    await until(() => seen.sessions.length > sessions, "the resumed session");
    expect(seen.sessions.at(-1)).toMatchObject({ resumed: false, subscriptions: { executionIds: [] } });
    return logged;
  }

  it("streams a dry run to completed", async () => {
    const updates = await execute(true);
    const last = updates.at(-1)!;
    expect(last).toMatchObject({ status: "completed", dryRun: true, progress: 1 });
    expect(last.legs.length).toBeGreaterThanOrEqual(2);
  });

  it("streams a real execution through its fills to completed", async () => {
    const updates = await execute(false);
    expect(updates.length).toBeGreaterThan(2);
    expect(new Set(updates.map((u) => u.id)).size).toBe(1);
    const last = updates.at(-1)!;
    expect(last).toMatchObject({ status: "completed", dryRun: false });
    for (const leg of last.legs) expect(leg.filledQuantity).toBe(leg.targetQuantity);
    const progress = updates.map((u) => u.progress);
    expect([...progress].sort((a, b) => a - b)).toEqual(progress);
  });

  it("answers the ack with the execution id, and a refusal in the ack and on error", async () => {
    const { instructions } = await sdk.instruction.parse.mutate({
      text: "双卖 500 当月 万1 的v",
      accounts: ["account1"],
    });
    const socket = connect(traderToken);
    const seen = record(socket);
    const ack = await socket.emitWithAck("instruction:execute", { instructions, accounts: ["account1"], dryRun: true });
    expect(ack).toMatchObject({ ok: true, status: "completed", executionId: expect.stringMatching(/^exec-/) });
    await until(() => seen.executionUpdates.some((u) => u.id === ack.executionId), "the execution's update");
    const refused = await socket.emitWithAck("instruction:execute", { instructions, accounts: ["account3"] });
    expect(refused).toEqual({
      ok: false,
      error: { code: "FORBIDDEN", message: "No access to account(s): account3", event: "instruction:execute" },
    });
    expect(seen.errors.at(-1)).toEqual(refused.error);
  });
});

describe("a gateway restart", () => {
  it("resumes the snippets' subscriptions and a running execution on the new gateway", async () => {
    const { instructions: parsedInstructions } = await sdk.instruction.parse.mutate({
      text: "双卖 500 当月 万1 的v",
      accounts: ["account1"],
    });
    const logged = consoleLines("Account updated:");
    const socket = connect(traderToken);
    const seen = record(socket);

    accountUpdatesSnippet(socket);
    instructionExecutionSnippet(socket, parsedInstructions);

    await until(() => logged.length >= 2 && seen.executionUpdates.length >= 1, "updates before");
    await stack.restartGateway();
    const accountsBefore = logged.length;
    await until(() => seen.connects >= 2, "a reconnect", 30_000);
    await until(() => logged.length >= accountsBefore + 3, "account updates after the restart", 30_000);
    await until(() => seen.executionUpdates.some((u) => u.status === "completed"), "the execution to complete", 45_000);
    expect(seen.errors).toEqual([]);
    // The gateway announced the restart with what it followed, and the new one resumed it.
    expect(seen.sessions.some((s) => s.closing && s.subscriptions.accountIds.includes("account1"))).toBe(true);
    expect(seen.sessions.at(-1)).toMatchObject({ resumed: true, subscriptions: { accountIds: ["account1"] } });
    expect(new Set(seen.executionUpdates.map((u) => u.id)).size).toBe(1);
  });
});

describe("a client that stops reading", () => {
  let slowStack: Stack;
  beforeAll(async () => {
    slowStack = await startStack({
      tickMs: 20,
      gateway: { wsMaxBufferedBytes: 32 * 1024, wsSlowClientGraceMs: 500 },
    });
  });
  afterAll(async () => {
    await slowStack?.close();
  });

  it("is cut off while the others keep receiving", async () => {
    const token = (await login(slowStack.url, "trader1", "trader123")).token;
    const trader = createGatewayClient({ url: slowStack.url, token });
    const codes = new Set(["510050", "510300", "159919", "510500", "159922", "159915"]);
    for (const accountId of ["account1", "account2"]) {
      for (const p of await trader.account.positions.query({ accountId })) codes.add(p.code);
    }
    await closeGatewayClient(trader);
    const symbols = [...codes];
    const open = (transports?: string[]) => {
      const socket = io(slowStack.url, { auth: { token }, reconnection: false, ...(transports ? { transports } : {}) });
      sockets.push(socket);
      return socket;
    };
    // Long polling: the gateway holds what a polling client has not fetched in engine.io's
    // write buffer, so a client that stops fetching fills it at once (over WebSocket the
    // kernel's socket buffers take megabytes first: apps/gateway's test covers that path).
    const slow = open(["polling"]);
    const slowSeen = record(slow);
    const others = [open(), open(["websocket"])];
    const othersSeen = others.map(record);
    for (const socket of [slow, ...others]) socket.emit("market:subscribe", { symbols });
    {
      await until(() => slowSeen.ticks.length > 0 && othersSeen.every((s) => s.ticks.length > 0), "first ticks");
      // Stop reading: no further poll requests.
      const transport = slow.io.engine.transport as unknown as { pause(onPause: () => void): void };
      transport.pause(() => {});
    }
    const started = Date.now();
    const metric = async () => {
      const text = await (await fetch(`${slowStack.url}/metrics`)).text();
      return Number(/^gateway_ws_slow_clients_closed_total (\d+)/m.exec(text)?.[1] ?? 0);
    };
    let cutOff = false;
    await until(
      () => {
        void metric().then((n) => {
          cutOff = n >= 1;
        });
        return cutOff;
      },
      "the slow client to be cut off",
      60_000,
    );
    const cutAfterMs = Date.now() - started;
    const counts = othersSeen.map((s) => s.ticks.length);
    await until(
      () => othersSeen.every((s, i) => s.ticks.length >= (counts[i] ?? 0) + 50),
      "the others to keep receiving",
    );
    const health = await (await fetch(`${slowStack.url}/health`)).json();
    expect(health.websocket.socketio).toBe(2);
    expect(othersSeen.flatMap((s) => s.errors)).toEqual([]);
    console.info(`slow socket.io client cut off ${cutAfterMs} ms after it stopped reading (${symbols.length} symbols)`);
  });
});

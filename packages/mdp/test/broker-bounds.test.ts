import type { Dealer } from "zeromq";
import { afterEach, describe, expect, it } from "vitest";
import type { MdpLogger } from "../src/index.js";
import { C, Harness, W, cmd, echo, waitFor } from "./helpers.js";

const h = new Harness();
afterEach(() => h.closeAll());

/** A registered worker that takes one request and never answers: its service is served, and queues. */
async function stuckWorker(url: string, service: string): Promise<Dealer> {
  const d = h.rawDealer(url);
  await d.send(["", W, cmd(0x01), service]);
  return d;
}

function errorCodes(messages: Buffer[][]): Record<string, number> {
  const codes: Record<string, number> = {};
  for (const m of messages) {
    const code = m[4]?.toString() === "MDPERR" ? String(m[5]) : "reply";
    codes[code] = (codes[code] ?? 0) + 1;
  }
  return codes;
}

async function receiveN(d: Dealer, n: number): Promise<Buffer[][]> {
  const out: Buffer[][] = [];
  while (out.length < n) out.push(await d.receive());
  return out;
}

describe("queue bounds are fair", () => {
  it("one client cannot fill a service's queue: past maxQueuePerClient it alone gets QUEUE_FULL", async () => {
    const { url, broker } = await h.broker({ maxQueue: 100, maxQueuePerClient: 5 });
    await stuckWorker(url, "svc");
    await waitFor(() => broker.stats().services.svc?.workers === 1, "worker registered");
    const flood = h.rawDealer(url);
    for (let i = 0; i < 11; i++) await flood.send(["", C, "svc", `f-${i}`, "x"]);
    // The first goes to the worker; five wait; five are refused.
    expect(errorCodes(await receiveN(flood, 5))).toEqual({ QUEUE_FULL: 5 });
    const polite = h.rawDealer(url);
    await polite.send(["", C, "svc", "p-1", "x"]);
    await waitFor(() => broker.stats().services.svc?.queued === 6, "the other client's request queued");
    expect(broker.stats().queueFull).toBe(5);
  });

  it("requests for services nobody serves share a small bound of their own, so made-up names cannot starve real ones", async () => {
    const { url, broker } = await h.broker({ maxQueueUnserved: 3, requestTtl: 10_000 });
    const flood = h.rawDealer(url);
    for (let i = 0; i < 5; i++) await flood.send(["", C, `made-up-${i}`, `f-${i}`, "x"]);
    expect(errorCodes(await receiveN(flood, 2))).toEqual({ QUEUE_FULL: 2 });
    expect(broker.stats().services["made-up-4"]).toBeUndefined();
    // A real (served, busy) service still queues.
    await stuckWorker(url, "real");
    await waitFor(() => broker.stats().services.real?.workers === 1, "worker registered");
    const client = h.client(url, { timeout: 10_000 });
    void client.request("real", Buffer.from("1"), { idempotent: true }).catch(() => {});
    void client.request("real", Buffer.from("2"), { idempotent: true }).catch(() => {});
    await waitFor(() => broker.stats().services.real?.queued === 1, "a real request waits");
    // Once a worker serves made-up-0, its queue stops counting as unserved: room for one more.
    await h.worker(url, "made-up-0", echo);
    expect(String((await flood.receive()).at(-1))).toBe("x");
    await flood.send(["", C, "made-up-9", "f-9", "x"]);
    await waitFor(() => broker.stats().services["made-up-9"]?.queued === 1, "room again");
  });

  it("a frame above maxMessageSize is refused at the socket (the peer is disconnected, counted) and nothing else suffers", async () => {
    const { url, broker } = await h.broker({ maxMessageSize: 1024 * 1024 });
    await h.worker(url, "echo", echo);
    const big = h.rawDealer(url);
    await big.send(["", C, "echo", "big-1", Buffer.alloc(2 * 1024 * 1024)]);
    await waitFor(() => broker.stats().disconnects >= 1, "oversized peer disconnected");
    expect(broker.stats().requests).toBe(0);
    const client = h.client(url);
    expect(String(await client.request("echo", Buffer.alloc(1000, 1), { idempotent: true }))).toHaveLength(1000);
  });
});

describe("no answer is dropped silently", () => {
  // 4 KB answers: enough of them fill loopback TCP buffers and the ROUTER's pipe (HWM 1000),
  // where a plain ROUTER would drop the rest without a word.
  const answer = Buffer.alloc(4096, 0x61);
  const big = (p: Buffer) => Buffer.concat([p, answer]);

  async function floodWithoutReading(url: string, total: number): Promise<Dealer> {
    await h.worker(url, "big", big, { concurrency: 4 });
    const slow = h.rawDealer(url, { receiveHighWaterMark: 10 });
    for (let i = 0; i < total; i++) await slow.send(["", C, "big", `r-${i}`, "x"]);
    return slow;
  }

  it("answers for a client that stops reading wait in a backlog (deferred, not dropped) and all arrive", async () => {
    const { url, broker } = await h.broker({ maxQueue: 20_000, maxQueuePerClient: 20_000 });
    const total = 6000;
    const slow = await floodWithoutReading(url, total);
    // Every request is answered by the worker while the client reads nothing.
    await waitFor(() => broker.stats().replies === total, "all answered by the worker", 30_000);
    expect(broker.stats().deferred).toBeGreaterThan(0);
    const answers = await receiveN(slow, total);
    expect(new Set(answers.map((m) => String(m[3]))).size).toBe(total);
    expect(answers.every((m) => m.length === 5 && m[4]?.length === 4097)).toBe(true);
    expect(broker.stats()).toMatchObject({ undelivered: 0, backlog: 0 });
  }, 60_000);

  it("past maxPeerBacklog answers are dropped, but counted and logged", async () => {
    const warnings: string[] = [];
    const logger: MdpLogger = {
      debug() {},
      info() {},
      warn: (_o, msg) => void warnings.push(msg ?? ""),
      error() {},
    };
    const options = { maxPeerBacklog: 100, maxQueue: 20_000, maxQueuePerClient: 20_000, logger };
    const { url, broker } = await h.broker(options);
    const total = 6000;
    await floodWithoutReading(url, total);
    await waitFor(() => broker.stats().replies === total, "all answered by the worker", 30_000);
    expect(broker.stats().undelivered).toBeGreaterThan(0);
    expect(warnings).toContain("mdp broker: undelivered");
  }, 60_000);
});

describe("busy workers: slow is not dead", () => {
  it("a busy worker silent for many liveness windows is kept until busyTimeout, then its client hears", async () => {
    // Idle liveness 300 ms; busy limit 1.5 s.
    const { url, broker } = await h.broker({ heartbeatInterval: 100, liveness: 3, busyTimeout: 1500 });
    const silent = await stuckWorker(url, "svc");
    await waitFor(() => broker.stats().services.svc?.workers === 1, "registered");
    const client = h.client(url, { timeout: 10_000, retries: 1 });
    const started = Date.now();
    const write = client.request("svc", Buffer.from("x"), { requestId: "w-slow" }).catch((e: unknown) => e);
    await silent.receive(); // it has the request, and sends nothing from now on
    await waitFor(() => Date.now() - started > 900, "three idle liveness windows");
    expect(broker.stats()).toMatchObject({ workersExpired: 0, workersLost: 0 });
    // busyTimeout counts from the last thing the worker sent (its READY here).
    expect(await write).toMatchObject({ code: "OUTCOME_UNKNOWN", requestId: "w-slow" });
    expect(broker.stats()).toMatchObject({ workersExpired: 1, workersLost: 1 });
  });

  it("an idle worker silent for liveness intervals is expired (RFC 7)", async () => {
    const { url, broker } = await h.broker({ heartbeatInterval: 100, liveness: 3, busyTimeout: 60_000 });
    await stuckWorker(url, "svc");
    await waitFor(() => broker.stats().services.svc?.workers === 1, "registered");
    await waitFor(() => broker.stats().workersExpired === 1, "idle worker expired");
  });
});

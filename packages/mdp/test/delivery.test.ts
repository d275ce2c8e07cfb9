/**
 * Delivery guarantees with peers that promise nothing: plain_worker.py is a zguide-style
 * RFC 7 worker with no reply cache and no heartbeat while busy, which logs every
 * execution. Every scenario checks, from those logs: each write ran at most once, every
 * caller got a result or a typed error within its deadline, and no write that its caller
 * was told definitely failed (any code but OUTCOME_UNKNOWN) ever ran.
 */
import { join } from "node:path";
import { pythonForSuite } from "@desk/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { Harness, waitFor } from "./helpers.js";
import { Peers, call, checkDelivery, executions, tally } from "./peers.js";

const python = pythonForSuite("mdp delivery", ["zmq"]);

describe.skipIf(python === undefined)("delivery through our broker, with workers that promise nothing", () => {
  const h = new Harness();
  const peers = new Peers(python);
  afterEach(async () => {
    await h.closeAll();
    await peers.closeAll();
  });

  it("kill -9 of a worker mid-write, a spare idle: OUTCOME_UNKNOWN at once, never run by the spare", async () => {
    const { url, broker } = await h.broker({ heartbeatInterval: 500, liveness: 3 });
    const dir = peers.tempDir();
    const [logA, logB] = [join(dir, "a.log"), join(dir, "b.log")];
    const a = await peers.plainWorker(url, "orders", logA);
    await waitFor(() => broker.stats().services.orders?.workers === 1, "worker A registered");
    await peers.plainWorker(url, "orders", logB);
    await waitFor(() => broker.stats().services.orders?.workers === 2, "spare B registered");
    const client = h.client(url, { timeout: 2000, retries: 3 });

    // A registered first, so it is the least recently used idle worker: the write goes there.
    const write = call(client, "orders", "delay=20000;order-1", "write", { timeout: 2000, retries: 3 });
    await waitFor(() => executions(logA).size === 1, "A started the write");
    const killedAt = Date.now();
    a.kill("SIGKILL");
    const outcome = await write;
    expect(outcome.code, outcome.message).toBe("OUTCOME_UNKNOWN");
    // It came from the broker's WORKER_LOST (found by a failed send), not from a timeout.
    expect(outcome.message).toMatch(/worker died holding it/);
    expect(broker.stats().workersLost).toBe(1);

    // The spare is idle and serving, and never saw the write.
    const read = await call(client, "orders", "after", "read", { timeout: 2000, retries: 3 });
    expect(read.code).toBe("OK");
    const ran = executions(logA, logB);
    checkDelivery([outcome, read], ran);
    expect(ran.get(outcome.id)).toHaveLength(1);
    expect(executions(logB).has(outcome.id)).toBe(false);
    console.info(
      `[kill -9 mid-write] answer ${outcome.code} ${outcome.endedAt - killedAt} ms after the kill; ` +
        `executions of the write: ${ran.get(outcome.id)?.length}; broker ${JSON.stringify({
          workersLost: broker.stats().workersLost,
          workersGone: broker.stats().workersGone,
          disconnects: broker.stats().disconnects,
        })}`,
    );
  }, 60_000);

  it("a 12 s request against a 2 s try timeout: the silent busy worker is not killed, each runs once", async () => {
    const { url, broker } = await h.broker({ heartbeatInterval: 500, liveness: 3 });
    const dir = peers.tempDir();
    const logs = [0, 1, 2].map((i) => join(dir, `w${i}.log`));
    for (const log of logs) await peers.plainWorker(url, "slow", log);
    await waitFor(() => broker.stats().services.slow?.workers === 3, "three workers registered");
    const late: string[] = [];
    const client = h.client(url, { timeout: 2000, retries: 8, onLateReply: (l) => late.push(l.requestId) });

    const [long, short, read] = await Promise.all([
      // A budget (8 x 2 s) longer than the work: it gets the result.
      call(client, "slow", "delay=12000;long", "write", { timeout: 2000, retries: 8 }),
      // A budget (3 x 2 s) shorter than the work: unknown at its deadline, never sent again.
      call(client, "slow", "delay=12000;short", "write", { timeout: 2000, retries: 3 }),
      // A read is retried every 2 s (new sockets, Lazy Pirate); the broker joins each retry.
      // 11 s, not 12: a retry sent at the very moment the work ends arrives after the job is
      // done and runs it again, which a read may (the retry at 12 s would race the answer).
      call(client, "slow", "delay=11000;read", "read", { timeout: 2000, retries: 8 }),
    ]);
    expect(long.code, long.message).toBe("OK");
    expect(short.code, short.message).toBe("OUTCOME_UNKNOWN");
    expect(short.endedAt - short.startedAt).toBeLessThan(12_000);
    expect(read.code, read.message).toBe("OK");
    await waitFor(() => late.includes(short.id), "the short write's late reply handed to onLateReply");
    const ran = executions(...logs);
    checkDelivery([long, short, read], ran);
    expect(ran.get(short.id)).toHaveLength(1);
    const stats = broker.stats();
    expect(
      ran.get(read.id),
      `the read ran once: retries joined (${JSON.stringify({ stats, client: client.stats() })})`,
    ).toHaveLength(1);
    expect(stats).toMatchObject({ workersExpired: 0, workersLost: 0 });
    expect(stats.joined).toBeGreaterThan(0);
    console.info(
      `[12 s vs 2 s] ${JSON.stringify(tally([long, short, read]))}; executions ${[long, short, read]
        .map((o) => ran.get(o.id)?.length ?? 0)
        .join("/")}; broker joined ${stats.joined}, expired ${stats.workersExpired}; client ${JSON.stringify(
        client.stats(),
      )}`,
    );
  }, 60_000);

  it("requests sent while no worker is registered: withdrawn at their deadline, or run once when a worker comes", async () => {
    const { url, broker } = await h.broker({ heartbeatInterval: 500, liveness: 3 });
    const dir = peers.tempDir();
    const log = join(dir, "w.log");
    const client = h.client(url, { timeout: 1000, retries: 3 });
    const o = { timeout: 1000, retries: 3 };
    const batch = (tag: string) => [
      ...Array.from({ length: 10 }, (_, i) => call(client, "orders", `${tag}-w${i}`, "write", o)),
      ...Array.from({ length: 5 }, (_, i) => call(client, "orders", `${tag}-r${i}`, "read", o)),
    ];

    // No worker for longer than the budget: every caller is told in time, and nothing stays behind.
    const gaveUp = await Promise.all(batch("gave-up"));
    const writesGaveUp = gaveUp.filter((x) => x.kind === "write");
    expect(new Set(writesGaveUp.map((x) => x.code))).toEqual(new Set(["EXPIRED"]));
    expect(new Set(gaveUp.filter((x) => x.kind === "read").map((x) => x.code))).toEqual(new Set(["TIMEOUT"]));
    await waitFor(() => (broker.stats().services.orders?.queued ?? 0) === 0, "nothing left queued");
    const worker = await peers.plainWorker(url, "orders", log);
    const marker = await call(client, "orders", "marker", "write", o);
    expect(marker.code).toBe("OK");

    // Now the worker goes away, requests queue, and a new worker picks them up.
    worker.kill("SIGINT"); // DISCONNECT on the way out
    await waitFor(() => (broker.stats().services.orders?.workers ?? 0) === 0, "worker gone");
    const waiting = batch("waited");
    await waitFor(() => broker.stats().services.orders?.queued === 15, "fifteen queued");
    await peers.plainWorker(url, "orders", log);
    const served = await Promise.all(waiting);
    expect(new Set(served.map((x) => x.code))).toEqual(new Set(["OK"]));

    const ran = executions(log);
    checkDelivery([...gaveUp, marker, ...served], ran);
    for (const x of gaveUp) expect(ran.has(x.id), `${x.id} (${x.code}) never ran`).toBe(false);
    const stats = broker.stats();
    expect(stats.cancelled).toBe(15);
    console.info(
      `[no worker] gave up: ${JSON.stringify(tally(gaveUp))}, executions ${gaveUp.filter((x) => ran.has(x.id)).length}; ` +
        `waited: ${JSON.stringify(tally(served))}, executions ${served.map((x) => ran.get(x.id)?.length ?? 0).join("")}; ` +
        `broker cancelled ${stats.cancelled}, joined ${stats.joined}; client withdrawn ${client.stats().withdrawn}`,
    );
  }, 60_000);
});

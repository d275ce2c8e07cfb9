/**
 * Delivery under load: our broker killed with SIGKILL and restarted on its port while
 * 50 callers send reads and writes to zguide-style workers; and one client pipelining
 * 100,000 requests at once. Counts are printed for the closing note.
 */
import { join } from "node:path";
import { freePort, pythonForSuite } from "@desk/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { MdpError } from "../src/index.js";
import { Harness, sleep, waitFor } from "./helpers.js";
import { type Outcome, Peers, call, checkDelivery, executions, tally } from "./peers.js";

const python = pythonForSuite("mdp delivery under load", ["zmq"]);

/** The issue asks for 30 s; the test stays well under its 60 s limit with the settling after it. */
const CHAOS_MS = 30_000;
const CALLERS = 50;

describe.skipIf(python === undefined)("delivery under load", () => {
  const h = new Harness();
  const peers = new Peers(python);
  afterEach(async () => {
    await h.closeAll();
    await peers.closeAll();
  });

  it(`broker killed -9 and restarted under ${CALLERS} callers of mixed reads and writes for ${CHAOS_MS / 1000} s`, async () => {
    const endpoint = `tcp://127.0.0.1:${await freePort()}`;
    // requestTtl = the callers' budget: nothing waits in a queue longer than anyone waits for it.
    const brokerOptions = { heartbeatInterval: 500, liveness: 3, requestTtl: 3000 };
    let broker = await peers.broker(endpoint, brokerOptions);
    const dir = peers.tempDir();
    const logs = [0, 1, 2, 3].map((i) => join(dir, `w${i}.log`));
    for (const log of logs) await peers.plainWorker(endpoint, "desk", log);
    await waitFor(async () => (await broker.stats()).services.desk?.workers === 4, "four workers registered");
    const o = { timeout: 1000, retries: 3 };
    const client = h.client(endpoint, o);

    const outcomes: Outcome[] = [];
    const endAt = Date.now() + CHAOS_MS;
    let sequence = 0;
    const callers = Array.from({ length: CALLERS }, async (_, c) => {
      while (Date.now() < endAt) {
        const kind = sequence++ % 2 === 0 ? "write" : "read";
        const delay = Math.floor(Math.random() * 20);
        outcomes.push(await call(client, "desk", `delay=${delay};c${c}`, kind, o));
      }
    });
    let kills = 0;
    const chaos = (async () => {
      // The schedule of the chaos, not a wait for a condition: kill every 6 s, down for 1 s.
      for (let at = 4000; at < CHAOS_MS - 3000; at += 6000) {
        await sleep(Math.max(0, endAt - CHAOS_MS + at - Date.now()));
        broker.peer.kill("SIGKILL");
        await broker.peer.exited;
        kills++;
        await sleep(1000);
        broker = await peers.broker(endpoint, brokerOptions);
      }
    })();
    await Promise.all([...callers, chaos]);

    // Settled: every worker back, idle, nothing queued. A plain worker runs one request at a
    // time and re-registers only between them, so nothing can still be running anywhere.
    await waitFor(
      async () => {
        const desk = (await broker.stats()).services.desk;
        return desk?.workers === 4 && desk.idle === 4 && desk.queued === 0;
      },
      "workers back and idle",
      20_000,
    );
    const ran = executions(...logs);
    checkDelivery(outcomes, ran);
    const writes = outcomes.filter((x) => x.kind === "write");
    const reads = outcomes.filter((x) => x.kind === "read");
    expect(kills).toBeGreaterThanOrEqual(4);
    expect(outcomes.filter((x) => x.code === "OK").length).toBeGreaterThan(outcomes.length / 2);
    const runs = (list: Outcome[]) => list.reduce((n, x) => n + (ran.get(x.id)?.length ?? 0), 0);
    console.info(
      `[broker kill -9 x${kills}, ${CALLERS} callers, ${CHAOS_MS / 1000} s] answers ${outcomes.length}: ` +
        `${JSON.stringify(tally(outcomes))}; executions: writes ${runs(writes)} for ${writes.length} writes ` +
        `(max per write ${Math.max(0, ...writes.map((x) => ran.get(x.id)?.length ?? 0))}), reads ${runs(reads)} ` +
        `for ${reads.length} reads; client ${JSON.stringify(client.stats())}`,
    );
  }, 60_000);

  async function burst(brokerOptions: Parameters<Harness["broker"]>[0], label: string) {
    // Liveness 2.5 s on both sides: a worker process starved of CPU by the burst must not pass
    // for dead (its service would then count as unserved, with the small bound that has), and
    // the worker must not take a broker busy with the burst for dead either. With the worker on
    // a 100 ms heartbeat against the broker's 500 ms it did (0.5 s of silence): on a loaded
    // machine its sockets reconnected mid-burst and the writes they held ended OUTCOME_UNKNOWN
    // (99,992 replies + 8 OUTCOME_UNKNOWN, 24 re-registrations): answered, but not replies.
    const heartbeatInterval = 500;
    const { url, broker } = await h.broker({ heartbeatInterval, liveness: 5, ...brokerOptions });
    await peers.nodeWorker(url, "burst", { concurrency: 8, heartbeat: heartbeatInterval });
    await waitFor(() => broker.stats().services.burst?.workers === 8, "worker sessions registered");
    const client = h.client(url, { timeout: 55_000, retries: 1 });
    const total = 100_000;
    const codes: Record<string, number> = {};
    let wrong = 0;
    const started = Date.now();
    await Promise.all(
      Array.from({ length: total }, (_, i) =>
        client.request("burst", Buffer.from(`n${i}`)).then(
          (reply) => {
            codes.OK = (codes.OK ?? 0) + 1;
            if (!reply.toString().endsWith(`:n${i}`)) wrong++;
          },
          (err: unknown) => {
            const code = err instanceof MdpError ? err.code : "UNTYPED";
            codes[code] = (codes[code] ?? 0) + 1;
          },
        ),
      ),
    );
    const answered = Object.values(codes).reduce((a, b) => a + b, 0);
    const stats = broker.stats();
    console.info(
      `[100k burst, ${label}] ${answered} answers in ${Date.now() - started} ms: ${JSON.stringify(codes)}; broker ` +
        `${JSON.stringify({ requests: stats.requests, replies: stats.replies, queueFull: stats.queueFull, deferred: stats.deferred, undelivered: stats.undelivered, workersRegistered: stats.workersRegistered, workersLost: stats.workersLost })}`,
    );
    expect(answered).toBe(total);
    expect(wrong).toBe(0);
    expect(codes.UNTYPED ?? 0).toBe(0);
    expect(codes.TIMEOUT ?? 0).toBe(0);
    expect(stats.undelivered).toBe(0);
    // What the counts below assume: the worker's sessions stayed up (none lost with a request in hand).
    expect(stats.workersRegistered, "worker sessions registered once (none reconnected)").toBe(8);
    expect(client.stats()).toMatchObject({ inFlight: 0, lateReplies: 0, badReplies: 0 });
    return codes;
  }

  it("a pipelined burst of 100,000 requests from one client, default bounds: every one answered", async () => {
    const codes = await burst({}, "default bounds");
    // The per-client bound refuses what does not fit, with a typed answer.
    expect((codes.OK ?? 0) + (codes.QUEUE_FULL ?? 0)).toBe(100_000);
  }, 60_000);

  it("a pipelined burst of 100,000 requests from one client, bounds raised: 100,000 replies, none dropped", async () => {
    // requestTtl past the client's budget: on a loaded machine the last of 100k may wait more than 15 s.
    const codes = await burst({ maxQueue: 100_000, maxQueuePerClient: 100_000, requestTtl: 60_000 }, "bounds raised");
    expect(codes.OK).toBe(100_000);
  }, 60_000);
});

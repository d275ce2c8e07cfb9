import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { MdpBroker, type MdpClient } from "../src/index.js";
import { FAST, Harness, echo, sleep, waitFor } from "./helpers.js";

const h = new Harness();
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  await h.closeAll();
});

const fixture = fileURLToPath(new URL("./fixtures/worker-process.ts", import.meta.url));

async function spawnWorker(endpoint: string, service: string, delayMs: number): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", fixture, endpoint, service, String(delayMs), String(FAST.liveness)],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`worker process exited early (${code})`)));
    child.stdout?.on("data", (d: Buffer) => {
      if (d.toString().includes("ready")) resolve();
    });
  });
  return child;
}

/** Runs `total` requests through `lanes` concurrent sequential lanes; returns the replies by index. */
async function load(
  client: MdpClient,
  service: string,
  total: number,
  lanes: number,
  onProgress?: (done: number) => void,
  idempotent = true,
) {
  const replies: string[] = new Array(total);
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (next < total) {
        const i = next++;
        replies[i] = (await client.request(service, Buffer.from(`req-${i}`), { idempotent })).toString();
        onProgress?.(++done);
      }
    }),
  );
  return replies;
}

describe("resilience", () => {
  it("a worker killed mid-load: its requests go to another worker and it expires", async () => {
    const { url, broker } = await h.broker();
    await h.worker(url, "slow", async (p) => {
      await sleep(10);
      return Buffer.concat([Buffer.from("local:"), p]);
    });
    const child = await spawnWorker(url, "slow", 30);
    await waitFor(() => broker.stats().services.slow?.workers === 2, "two workers registered");
    const client = h.client(url, { timeout: 3000, retries: 3 });
    let killed = false;
    const replies = await load(client, "slow", 200, 20, (done) => {
      if (done === 40 && !killed) {
        killed = true;
        child.kill("SIGKILL");
      }
    });
    replies.forEach((r, i) => {
      expect(r.endsWith(`:req-${i}`)).toBe(true);
    });
    await waitFor(() => broker.stats().services.slow?.workers === 1, "dead worker removed");
    const stats = broker.stats();
    // The killed one: found by a failed send to its vanished socket, or at worst by expiry
    // (a load stall could expire the live one too; it re-registers).
    expect(stats.workersGone + stats.workersExpired, JSON.stringify(stats)).toBeGreaterThanOrEqual(1);
    // The child was busy when killed (30 ms handler, 20 lanes): the broker told the client at once.
    expect(stats.workersLost, JSON.stringify(stats)).toBeGreaterThanOrEqual(1);
    expect(client.stats().brokerErrors).toBe(stats.workersLost);
  });

  it("a busy worker keeps heartbeating: a slow handler is not mistaken for a dead worker", async () => {
    const { url, broker } = await h.broker();
    await h.worker(url, "slow", async (p) => {
      await sleep(800); // eight heartbeat intervals, almost three liveness windows
      return p;
    });
    const client = h.client(url, { timeout: 5000, retries: 1 });
    expect((await client.request("slow", Buffer.from("patience"))).toString()).toBe("patience");
    expect(broker.stats().workersExpired).toBe(0);
  });

  it("the broker killed and restarted on the same port: everyone reconnects, no write to a deduplicating backend runs twice", async () => {
    const first = await h.broker();
    const url = first.url;
    const executions = new Map<string, number>();
    const handler = async (p: Buffer, ctx: { requestId: string }) => {
      executions.set(ctx.requestId, (executions.get(ctx.requestId) ?? 0) + 1);
      await sleep(5);
      return p;
    };
    // One worker instance with four sessions: dedupe is per instance (one shared reply cache),
    // which is what makes these writes idempotent (load() sends them so) and retries safe.
    const worker = await h.worker(url, "orders", handler, { concurrency: 4 });
    await waitFor(() => first.broker.stats().services.orders?.workers === 4, "workers registered");
    const client = h.client(url, { timeout: 400, retries: 20 });

    let restarted: Promise<MdpBroker> | undefined;
    const restart = async (): Promise<MdpBroker> => {
      await first.broker.close();
      await sleep(300); // the broker stays down for a while, as a crashed process would
      for (;;) {
        const broker = h.track(new MdpBroker(FAST));
        try {
          await broker.bind(url);
          return broker;
        } catch {
          await broker.close();
          await sleep(50); // the old listener may still be releasing the port
        }
      }
    };
    const replies = await load(client, "orders", 400, 25, (done) => {
      if (done === 100) restarted = restart();
    });
    replies.forEach((r, i) => {
      expect(r).toBe(`req-${i}`);
    });
    const second = await (restarted as Promise<MdpBroker>);
    expect(executions.size).toBe(400);
    for (const [id, n] of executions) expect(n, `executions of ${id}`).toBe(1);
    const cs = client.stats();
    expect(cs.timeouts).toBeGreaterThan(0);
    expect(cs.reconnects).toBeGreaterThan(0);
    expect(worker.stats().reconnects).toBeGreaterThan(0);
    await waitFor(() => second.stats().services.orders?.workers === 4, "all worker sessions back on the new broker");
  });

  it("fails over to the second endpoint when the first is dead", async () => {
    const dead = new MdpBroker(FAST);
    const deadUrl = await dead.bind("tcp://127.0.0.1:*");
    await dead.close();
    const { url } = await h.broker();
    await h.worker(url, "echo", echo);
    const client = h.client(`${deadUrl},${url}`, { timeout: 1000, retries: 3 });
    const replies = await Promise.all([1, 2, 3].map((i) => client.request("echo", Buffer.from(`f${i}`))));
    expect(replies.map(String)).toEqual(["f1", "f2", "f3"]);
    const stats = client.stats();
    expect(stats.endpoint).toBe(url);
    expect(stats.reconnects).toBe(1);
    expect(stats.timeouts).toBeGreaterThanOrEqual(1);
  });

  it("a late reply after a client timeout is dropped and counted", async () => {
    const { url } = await h.broker();
    await h.worker(url, "slow", async (p) => {
      await sleep(500);
      return p;
    });
    const client = h.client(url, { timeout: 150, retries: 1 });
    const read = client.request("slow", Buffer.from("late"), { idempotent: true });
    await expect(read).rejects.toMatchObject({ code: "TIMEOUT", tries: 1 });
    await waitFor(() => client.stats().lateReplies === 1, "late reply counted");
    expect(client.stats()).toMatchObject({ inFlight: 0, replies: 0, timeouts: 1 });
  });

  it("a write's late reply after OUTCOME_UNKNOWN reaches onLateReply with its requestId", async () => {
    const { url } = await h.broker();
    await h.worker(url, "slow", async (p) => {
      await sleep(500);
      return Buffer.concat([Buffer.from("done:"), p]);
    });
    const late: Array<{ requestId: string; service: string; reply: string }> = [];
    const client = h.client(url, {
      timeout: 150,
      retries: 1,
      onLateReply: (l) => late.push({ ...l, reply: l.reply.toString() }),
    });
    const write = client.request("slow", Buffer.from("order"), { requestId: "w-late" });
    await expect(write).rejects.toMatchObject({ code: "OUTCOME_UNKNOWN", requestId: "w-late" });
    await waitFor(() => late.length === 1, "late reply handed over");
    expect(late[0]).toEqual({ requestId: "w-late", service: "slow", reply: "done:order" });
  });

  it("a short-deadline call that times out (a health probe) does not fail over the client's other requests", async () => {
    const { url } = await h.broker();
    await h.worker(url, "slow", async (p) => {
      await sleep(400);
      return p;
    });
    const client = h.client(url, { timeout: 2000, retries: 3 });
    const normal = client.request("slow", Buffer.from("kept"), { idempotent: true });
    const probe = client.request("slow", Buffer.from("probe"), { timeout: 50, retries: 2, idempotent: true });
    await expect(probe).rejects.toMatchObject({ code: "TIMEOUT" });
    expect(String(await normal)).toBe("kept");
    expect(client.stats().reconnects).toBe(0);
  });
});

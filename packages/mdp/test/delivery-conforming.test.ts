/**
 * Our client through a conforming broker that has none of our extensions (zguide_broker.py:
 * the zguide Python broker's semantics) and workers that promise nothing: writes are still
 * never sent twice; what the broker cannot tell us ends OUTCOME_UNKNOWN at the deadline.
 */
import { join } from "node:path";
import { pythonForSuite } from "@desk/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { Harness, waitFor } from "./helpers.js";
import { Peers, call, checkDelivery, executions, tally } from "./peers.js";

const python = pythonForSuite("mdp delivery, conforming broker", ["zmq"]);

describe.skipIf(python === undefined)("delivery through a conforming broker (zguide semantics)", () => {
  const h = new Harness();
  const peers = new Peers(python);
  afterEach(async () => {
    await h.closeAll();
    await peers.closeAll();
  });

  async function zguideBroker(): Promise<string> {
    return peers.python("zguide_broker.py", ["tcp://127.0.0.1:*", "--heartbeat", "500"]).ready;
  }

  /** mmi.service at the zguide broker means "someone asked for it or serves it": ask until it is served. */
  async function served(client: ReturnType<Harness["client"]>, service: string, log: string): Promise<void> {
    const probe = await call(client, service, "probe", "read", { timeout: 2000, retries: 3 });
    expect(probe.code, `a read reached the ${service} worker`).toBe("OK");
    await waitFor(() => executions(log).has(probe.id), "probe executed");
  }

  it("a slow write and a write whose worker is killed -9: OUTCOME_UNKNOWN at the deadline, each run once", async () => {
    const url = await zguideBroker();
    const dir = peers.tempDir();
    const [slowLog, logA, logB] = [join(dir, "slow.log"), join(dir, "a.log"), join(dir, "b.log")];
    const late: string[] = [];
    const client = h.client(url, { timeout: 2000, retries: 3, onLateReply: (l) => late.push(l.requestId) });
    await peers.plainWorker(url, "slow", slowLog);
    await served(client, "slow", slowLog);
    const a = await peers.plainWorker(url, "orders", logA);
    await served(client, "orders", logA); // A is idle again and first in line
    await peers.plainWorker(url, "orders", logB);
    await waitFor(() => client.stats().brokerExtensions === "no", "the broker answered 501 to mmi.session");

    const o = { timeout: 2000, retries: 3 };
    const slow = call(client, "slow", "delay=9000;slow", "write", o);
    const killed = call(client, "orders", "delay=20000;order", "write", o);
    await waitFor(() => executions(logA).size === 2, "A started the write");
    a.kill("SIGKILL");
    // This broker never notices a busy worker die, nor can it withdraw anything: the write
    // is not sent again, and its caller hears at the deadline that nobody can know.
    const outcomes = await Promise.all([slow, killed]);
    expect(outcomes.map((x) => x.code)).toEqual(["OUTCOME_UNKNOWN", "OUTCOME_UNKNOWN"]);
    await waitFor(() => late.length === 1, "the slow write's late reply", 15_000);
    expect(late).toEqual([outcomes[0]?.id]);
    const ran = executions(slowLog, logA, logB);
    checkDelivery(outcomes, ran);
    expect(outcomes.map((x) => ran.get(x.id)?.length ?? 0)).toEqual([1, 1]);
    expect(executions(logB).has(outcomes[1]?.id as string)).toBe(false);
    console.info(
      `[zguide broker: slow write, kill -9 mid-write] ${JSON.stringify(tally(outcomes))}; executions ` +
        `${outcomes.map((x) => ran.get(x.id)?.length ?? 0).join("/")}; late replies ${late.length}; ` +
        `client ${JSON.stringify(client.stats())}`,
    );
  }, 60_000);

  it("a write's answer still arrives after a read's timeout moved the client to a new socket (the old one is kept for it)", async () => {
    const url = await zguideBroker();
    const log = join(peers.tempDir(), "w.log");
    const client = h.client(url, { timeout: 1000, retries: 5 });
    await peers.plainWorker(url, "orders", log);
    await served(client, "orders", log);
    const write = call(client, "orders", "delay=2500;order", "write", { timeout: 1000, retries: 5 });
    // Nobody serves "nobody": its try times out after 1 s and the client reconnects (Lazy Pirate).
    const read = call(client, "nobody", "x", "read", { timeout: 1000, retries: 2 });
    const [w, r] = await Promise.all([write, read]);
    expect(r.code).toBe("TIMEOUT");
    expect(client.stats().reconnects).toBeGreaterThanOrEqual(1);
    // The zguide broker answers the old socket's identity; the client kept that socket open for it.
    expect(w.code, w.message).toBe("OK");
    checkDelivery([w, r], executions(log));
  }, 60_000);

  it("the late answer of a write that ended OUTCOME_UNKNOWN reaches onLateReply, though the client moved to a new socket", async () => {
    const url = await zguideBroker();
    const log = join(peers.tempDir(), "w.log");
    const late: string[] = [];
    const client = h.client(url, { timeout: 1000, retries: 2, onLateReply: (l) => late.push(l.requestId) });
    await peers.plainWorker(url, "orders", log);
    await served(client, "orders", log);
    const o = { timeout: 1000, retries: 2 };
    // The work (4 s) outlasts the write's budget (2 s); a read that nobody serves makes the client reconnect.
    const [w, r] = await Promise.all([
      call(client, "orders", "delay=4000;order", "write", o),
      call(client, "nobody", "x", "read", o),
    ]);
    expect([w.code, r.code]).toEqual(["OUTCOME_UNKNOWN", "TIMEOUT"]);
    expect(client.stats().reconnects).toBeGreaterThanOrEqual(1);
    // The zguide broker answers the socket the write left on; the client kept it open for that.
    await waitFor(() => late.includes(w.id), "the late answer", 15_000);
    checkDelivery([w, r], executions(log));
  }, 60_000);

  it("writes sent while no worker is registered: OUTCOME_UNKNOWN (this broker keeps them), run once later", async () => {
    const url = await zguideBroker();
    const log = join(peers.tempDir(), "w.log");
    const client = h.client(url, { timeout: 1000, retries: 2 });
    await waitFor(() => client.stats().brokerExtensions === "no", "the broker answered 501 to mmi.session");
    const o = { timeout: 1000, retries: 2 };
    const writes = await Promise.all(Array.from({ length: 5 }, (_, i) => call(client, "orders", `w${i}`, "write", o)));
    // Told "unknown", not "failed": the zguide broker keeps requests forever and will run them.
    expect(new Set(writes.map((x) => x.code))).toEqual(new Set(["OUTCOME_UNKNOWN"]));
    await peers.plainWorker(url, "orders", log);
    await waitFor(() => writes.every((x) => executions(log).has(x.id)), "the kept writes ran");
    const ran = executions(log);
    checkDelivery(writes, ran);
    console.info(
      `[zguide broker: no worker] ${JSON.stringify(tally(writes))}; executions after the worker came: ` +
        `${writes.map((x) => ran.get(x.id)?.length ?? 0).join("")}`,
    );
  }, 60_000);
});

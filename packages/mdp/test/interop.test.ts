import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { pythonForSuite } from "@desk/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { Harness, waitFor } from "./helpers.js";

const scripts = fileURLToPath(new URL("../../../python-scripts/", import.meta.url));

const python = pythonForSuite("mdp interop", ["zmq"]);

describe.skipIf(python === undefined)("interop with pyzmq reference peers", () => {
  const h = new Harness();
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    await h.closeAll();
  });

  function runPython(script: string, args: string[]): ChildProcess {
    const child = spawn(python as string, [`${scripts}${script}`, ...args], { stdio: ["ignore", "pipe", "inherit"] });
    children.push(child);
    return child;
  }

  function output(child: ChildProcess): Promise<{ code: number | null; stdout: string }> {
    let stdout = "";
    child.stdout?.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    return new Promise((resolve) => child.once("exit", (code) => resolve({ code, stdout })));
  }

  it("a Python worker is served through our broker to our client", async () => {
    // Liveness 10 (1 s) on both sides: event-loop stalls on a loaded machine must not look like death.
    const { url, broker } = await h.broker({ liveness: 10 });
    runPython("mdp_worker.py", [url, "py.upper", "--mode", "upper", "--heartbeat", "100", "--liveness", "10"]);
    await waitFor(() => broker.stats().services["py.upper"]?.workers === 1, "python worker registered", 15_000);
    const client = h.client(url, { timeout: 5000 });
    expect(await client.mmi("py.upper")).toBe("200");
    const ids = Array.from({ length: 200 }, () => client.nextRequestId());
    const replies = await Promise.all(
      ids.map((id, i) => client.request("py.upper", Buffer.from(`msg-${i}`), { requestId: id })),
    );
    for (const [i, r] of replies.entries()) expect(r.toString()).toBe(`py:MSG-${i}`);
    // It heartbeats like an RFC 7 worker: it stays registered over more heartbeats than one
    // liveness window holds (10 at 100 ms), i.e. it outlived a window by heartbeating.
    const registered = broker.stats().workersRegistered;
    const heard = broker.stats().heartbeats;
    await waitFor(() => broker.stats().heartbeats >= heard + 15, "heartbeats for 1.5 liveness windows", 15_000);
    expect(broker.stats().services["py.upper"]?.workers).toBe(1);
    expect(broker.stats().workersExpired).toBe(0);
    expect(broker.stats().workersRegistered).toBe(registered);
  });

  it("our worker is served through our broker to a Python client", async () => {
    const { url } = await h.broker();
    await h.worker(url, "node.echo", (p, ctx) => Buffer.from(`${ctx.requestId}=${p.toString()}`), { concurrency: 2 });
    const { code, stdout } = await output(runPython("mdp_client.py", [url, "node.echo", "--count", "100", "--mmi"]));
    const result = JSON.parse(stdout) as { ok: boolean; mmi: string; replies: Record<string, string> };
    expect(code).toBe(0);
    expect(result.ok).toBe(true);
    expect(result.mmi).toBe("200");
    expect(Object.keys(result.replies)).toHaveLength(100);
    for (let i = 0; i < 100; i++) expect(result.replies[`py-${i}`]).toBe(`py-${i}=msg-${i}`);
  });
});

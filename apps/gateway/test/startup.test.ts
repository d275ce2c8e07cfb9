import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, startGateway } from "../src/index.js";
import { type FakeBackend, marketTick, startFakeBackend } from "./helpers/fake-backend.js";
import { TEST_SECRET, login, rest, testConfig } from "./helpers/stack.js";
import { collect, createClient } from "./helpers/ws-client.js";
import { freePort, type NodeProcess, runNode, waitFor } from "@desk/testkit";

const mainJs = fileURLToPath(new URL("../dist/main.js", import.meta.url));
const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const children: ChildProcess[] = [];
const closers: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  for (const close of closers.splice(0).reverse()) await close();
});

async function backend(): Promise<FakeBackend> {
  const b = await startFakeBackend();
  closers.push(() => b.close());
  return b;
}

/** `node dist/main.js` with `env` on top of a minimal PATH, in `cwd`, output collected. */
function run(env: Record<string, string>, cwd?: string): NodeProcess {
  const p = runNode([mainJs], env, { cwd });
  children.push(p.child);
  return p;
}

async function listening(p: NodeProcess): Promise<void> {
  await waitFor(() => p.out.stdout.includes("gateway listening") || p.child.exitCode !== null, "the gateway to listen");
  if (p.child.exitCode !== null) throw new Error(`gateway exited ${p.child.exitCode}: ${p.out.stderr}`);
}

beforeAll(() => {
  if (!existsSync(mainJs)) throw new Error("run `pnpm --filter @desk/gateway build` first (turbo's test task does)");
});

describe("JWT secret and mode follow what actually runs", () => {
  it("refuses the dev secret when USE_MOCK_ZMQ finds a broker already listening (no mock started)", async () => {
    const b = await backend();
    const started = startGateway({ ...testConfig(b), useMock: true, jwtSecret: undefined });
    await expect(started).rejects.toBeInstanceOf(ConfigError);
    await expect(started).rejects.toThrow(/JWT_SECRET.*a broker is already listening/);

    const p = run({
      USE_MOCK_ZMQ: "true",
      ZMQ_BROKER_URL: b.brokerUrl,
      ZMQ_PUB_URL: b.pubUrl,
      PORT: "0",
      HOST: "127.0.0.1",
    });
    expect(await p.exited).toBe(1);
    expect(p.out.stderr).toBe(
      'gateway: Invalid JWT_SECRET="": expected a secret of at least 16 characters (required unless the gateway starts its in-process mock; a broker is already listening on ZMQ_BROKER_URL)\n',
    );
  });

  it("reports mode real when USE_MOCK_ZMQ found a broker, mock only when it started one", async () => {
    const b = await backend();
    const real = await startGateway({ ...testConfig(b), useMock: true });
    closers.push(() => real.close());
    expect((await rest(real.url, "GET", "/health")).body.mode).toBe("real");

    const [brokerPort, pubPort] = [await freePort(), await freePort()];
    const mocked = await startGateway({
      ...testConfig({ brokerUrl: `tcp://127.0.0.1:${brokerPort}`, pubUrl: `tcp://127.0.0.1:${pubPort}` }),
      useMock: true,
      jwtSecret: undefined,
    });
    closers.push(() => mocked.close());
    expect((await rest(mocked.url, "GET", "/health")).body.mode).toBe("mock");
    // The dev secret is in use against the mock it started: logins work.
    expect(await login(mocked.url, "trader1", "trader123")).toMatch(/\./);
  });
});

describe("PICKLE_CODEC=python under pnpm dev/start", () => {
  const python = {
    PICKLE_CODEC: "python",
    PYTHON_PATH: "/usr/bin/python3",
    USE_MOCK_ZMQ: "false",
    JWT_SECRET: TEST_SECRET,
    HOST: "127.0.0.1",
  };

  it("works from any working directory (default helper, and a relative PYTHON_SCRIPT_PATH)", async () => {
    const b = await backend();
    const base = { ...python, ZMQ_BROKER_URL: b.brokerUrl, ZMQ_PUB_URL: b.pubUrl };
    for (const [env, cwd] of [
      [{}, tmpdir()],
      [{ PYTHON_SCRIPT_PATH: "python-scripts" }, repoRoot],
      [{ PYTHON_SCRIPT_PATH: "../../python-scripts/pickle_helper.py" }, fileURLToPath(new URL("..", import.meta.url))],
    ] as const) {
      const port = await freePort();
      const p = run({ ...base, ...env, PORT: String(port) }, cwd);
      await listening(p);
      const url = `http://127.0.0.1:${port}`;
      const token = await login(url, "trader1", "trader123");
      expect((await rest(url, "GET", "/api/v1/accounts", { token })).status).toBe(200);
      expect((await rest(url, "GET", "/health")).body.pickleCodec).toBe("python");
      p.child.kill("SIGTERM");
      expect(await p.exited).toBe(0);
    }
  });

  it("stops at start with one line when the helper does not work", async () => {
    const b = await backend();
    const p = run({
      ...python,
      ZMQ_BROKER_URL: b.brokerUrl,
      ZMQ_PUB_URL: b.pubUrl,
      PORT: "0",
      PYTHON_SCRIPT_PATH: "/nonexistent/pickle_helper.py",
    });
    expect(await p.exited).toBe(1);
    const lines = p.out.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^gateway: failed to start: PICKLE_CODEC=python does not work \(PYTHON_PATH=\/usr\/bin\/python3, script \/nonexistent\/pickle_helper.py\)/,
    );
  });
});

describe("event ids across a gateway restart", () => {
  type Tracked = { id: string; data: { seq: number } };
  const seqOf = (id: string) => Number(id.slice(id.lastIndexOf(".") + 1));
  const epochOf = (id: string) => id.slice(id.lastIndexOf(":") + 1, id.lastIndexOf("."));

  it("does not replay the new process's buffer for an id of the old one", async () => {
    const b = await backend();
    const port = await freePort();
    const env = {
      ZMQ_BROKER_URL: b.brokerUrl,
      ZMQ_PUB_URL: b.pubUrl,
      USE_MOCK_ZMQ: "false",
      JWT_SECRET: TEST_SECRET,
      HOST: "127.0.0.1",
      PORT: String(port),
    };
    const url = `http://127.0.0.1:${port}`;
    const wsUrl = `ws://127.0.0.1:${port}/trpc`;
    const publishUntil = async (done: () => boolean) => {
      await waitFor(async () => {
        await b.publish("market.510300", marketTick("510300", b.nextSeq()));
        return done();
      }, "the ticks to arrive");
    };

    const first = run(env);
    await listening(first);
    const token = await login(url, "trader1", "trader123");
    const c1 = createClient(url, wsUrl, token);
    const before = collect<Tracked>((h) => c1.client.market.onTick.subscribe({ symbols: ["510300"] }, h));
    await publishUntil(() => before.data.length > 0);
    const oldId = before.data[0]!.id;
    before.stop();
    await c1.close();
    first.child.kill("SIGTERM");
    expect(await first.exited).toBe(0);

    const second = run(env);
    await listening(second);
    const c2 = createClient(url, wsUrl, await login(url, "trader1", "trader123"));
    closers.push(c2.close);
    // Fill the new process's buffer past the old id's sequence number.
    const other = collect<Tracked>((h) => c2.client.market.onTick.subscribe({ symbols: ["510300"] }, h));
    await publishUntil(() => other.data.length > seqOf(oldId) + 2);
    const newestBefore = seqOf(other.data.at(-1)!.id);
    expect(epochOf(other.data[0]!.id)).not.toBe(epochOf(oldId));

    const resumed = collect<Tracked>((h) =>
      c2.client.market.onTick.subscribe({ symbols: ["510300"], lastEventId: oldId }, h),
    );
    await publishUntil(() => resumed.data.length > 0);
    // Live only: nothing from before it subscribed.
    expect(seqOf(resumed.data[0]!.id)).toBeGreaterThan(newestBefore);
    other.stop();
    resumed.stop();
  });
});

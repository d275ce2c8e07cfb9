import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/index.js";
import { type FakeBackend, startFakeBackend } from "./helpers/fake-backend.js";
import { listeningUrl } from "./helpers/gateway-process.js";
import { TEST_SECRET, login, rest } from "./helpers/stack.js";
import { type NodeProcess, freePort, runNode, waitFor } from "@desk/testkit";

const mainJs = fileURLToPath(new URL("../dist/main.js", import.meta.url));
const children: ChildProcess[] = [];
const backends: FakeBackend[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  for (const b of backends.splice(0)) await b.close();
});

/** Runs `node dist/main.js` with `env` (on top of a minimal PATH) and collects its output. */
function run(env: Record<string, string>): NodeProcess {
  const p = runNode([mainJs], env);
  children.push(p.child);
  return p;
}

describe("configuration", () => {
  it("parses defaults and values", () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 3001,
      brokerUrl: "tcp://localhost:5555",
      pubUrl: "tcp://localhost:5556",
      zmqTimeout: 5000,
      zmqRetries: 3,
      heartbeatInterval: 2500,
      useMock: true,
      pickleCodec: "native",
      logLevel: "info",
    });
    const d = loadConfig({
      PORT: "8080",
      ZMQ_BROKER_URL: "tcp://a:1, tcp://b:2",
      USE_MOCK_ZMQ: "false",
      JWT_SECRET: "x".repeat(32),
      PICKLE_CODEC: "python",
    });
    expect(d).toMatchObject({ port: 8080, brokerUrl: "tcp://a:1,tcp://b:2", useMock: false, pickleCodec: "python" });
    // Production never falls back to the simulator unless asked to.
    expect(loadConfig({ NODE_ENV: "production", JWT_SECRET: "x".repeat(32) }).useMock).toBe(false);
    expect(loadConfig({ NODE_ENV: "production", USE_MOCK_ZMQ: "true" }).useMock).toBe(true);
    // Unset: decided at start (true only against the gateway's own in-process mock).
    expect(c.dedupeWrites).toBeUndefined();
    expect(loadConfig({ ZMQ_DEDUPE_WRITES: "true" }).dedupeWrites).toBe(true);
    expect(loadConfig({ ZMQ_DEDUPE_WRITES: "no" }).dedupeWrites).toBe(false);
    expect(loadConfig({ CORS_ORIGINS: "https://desk.example.com/, *" }).corsOrigins).toEqual([
      "https://desk.example.com",
      "*",
    ]);
  });

  it.each([
    [{ ZMQ_TIMEOUT: "soon" }, 'Invalid ZMQ_TIMEOUT="soon": expected milliseconds, an integer 1..600000'],
    [{ PORT: "70000" }, 'Invalid PORT="70000": expected an integer port 0..65535'],
    [{ USE_MOCK_ZMQ: "maybe" }, 'Invalid USE_MOCK_ZMQ="maybe": expected true or false'],
    [{ ZMQ_DEDUPE_WRITES: "sometimes" }, 'Invalid ZMQ_DEDUPE_WRITES="sometimes": expected true or false'],
    [
      { ZMQ_BROKER_URL: "localhost:5555" },
      'Invalid ZMQ_BROKER_URL="localhost:5555": expected comma-separated ZeroMQ endpoints like tcp://host:5555',
    ],
    [
      { CORS_ORIGINS: "desk" },
      'Invalid CORS_ORIGINS="desk": expected comma-separated origins like https://desk.example.com, or "*"',
    ],
    [
      { USE_MOCK_ZMQ: "false" },
      'Invalid JWT_SECRET="": expected a secret of at least 16 characters (required when USE_MOCK_ZMQ=false)',
    ],
    [
      { NODE_ENV: "production" },
      'Invalid JWT_SECRET="": expected a secret of at least 16 characters (required when USE_MOCK_ZMQ=false)',
    ],
    [
      { JWT_SECRET: "hunter2" },
      "Invalid JWT_SECRET (a value of 7 characters, not shown): expected a secret of at least 16 characters",
    ],
  ])("refuses %o with one line", (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});

describe("node dist/main.js", () => {
  beforeAll(() => {
    if (!existsSync(mainJs)) throw new Error("run `pnpm --filter @desk/gateway build` first (turbo's test task does)");
  });

  it("stops on a bad variable with one line on stderr and exit code 1", async () => {
    const p = run({ ZMQ_RETRIES: "lots" });
    expect(await p.exited).toBe(1);
    expect(p.out.stderr).toBe('gateway: Invalid ZMQ_RETRIES="lots": expected an integer number of tries 1..100\n');
  });

  it("never prints a secret it refuses", async () => {
    const secret = "s3cr3t-too-shrt";
    const p = run({ JWT_SECRET: secret });
    expect(await p.exited).toBe(1);
    expect(p.out.stderr).toBe(
      "gateway: Invalid JWT_SECRET (a value of 15 characters, not shown): expected a secret of at least 16 characters\n",
    );
    expect(p.out.stderr + p.out.stdout).not.toContain(secret);
  });

  it("serves against a real backend and shuts down gracefully on SIGTERM (exit 0)", async () => {
    const b = await startFakeBackend();
    backends.push(b);
    // Port 0: the OS picks a free one and the gateway logs its URL (a random pick collided once).
    const p = run({
      PORT: "0",
      HOST: "127.0.0.1",
      ZMQ_BROKER_URL: b.brokerUrl,
      ZMQ_PUB_URL: b.pubUrl,
      USE_MOCK_ZMQ: "false",
      JWT_SECRET: TEST_SECRET,
      LOG_LEVEL: "info",
    });
    await waitFor(
      () => p.out.stdout.includes("gateway listening") || p.child.exitCode !== null,
      "the gateway to listen",
    );
    expect(p.child.exitCode).toBeNull();
    const url = listeningUrl(p);
    const token = await login(url, "trader1", "trader123");
    expect((await rest(url, "GET", "/api/v1/accounts", { token })).status).toBe(200);
    const health = await rest(url, "GET", "/health");
    expect(health.body.mode).toBe("real");
    p.child.kill("SIGTERM");
    expect(await p.exited).toBe(0);
    expect(p.out.stdout).toContain("gateway closed");
  });
});

describe("no broker listening", () => {
  it("warns at start, answers 503 at once, and stops cleanly", async () => {
    const p = run({
      PORT: "0",
      HOST: "127.0.0.1",
      ZMQ_BROKER_URL: `tcp://127.0.0.1:${await freePort()}`,
      USE_MOCK_ZMQ: "false",
      JWT_SECRET: TEST_SECRET,
      LOG_LEVEL: "info",
    });
    await waitFor(() => p.out.stdout.includes("gateway listening"), "the gateway to listen");
    expect(p.out.stdout).toContain("no broker is listening");
    const health = await rest(listeningUrl(p), "GET", "/health");
    expect(health.status).toBe(503);
    expect(health.body.broker.knownDown).toBe(true);
    p.child.kill("SIGTERM");
    expect(await p.exited).toBe(0);
  });
});

describe("PICKLE_CODEC=python", () => {
  it("talks to the backend through pickle_helper.py", async () => {
    const { startGateway } = await import("../src/index.js");
    const { testConfig } = await import("./helpers/stack.js");
    const b = await startFakeBackend();
    backends.push(b);
    const g = await startGateway(
      testConfig(b, {
        pickleCodec: "python",
        pythonPath: "/usr/bin/python3",
        pythonScriptPath: fileURLToPath(new URL("../../../python-scripts", import.meta.url)),
      }),
    );
    try {
      const token = await login(g.url, "trader1", "trader123");
      const accounts = await rest(g.url, "GET", "/api/v1/accounts", { token });
      expect(accounts.status).toBe(200);
      expect(accounts.body).toHaveLength(2);
      expect((await rest(g.url, "GET", "/health")).body.pickleCodec).toBe("python");
    } finally {
      await g.close();
    }
  });
});

import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MdpClient, formatCurveCertificate, generateCurveKeyPair } from "@desk/mdp";
import { dumps, loads } from "@desk/pickle";
import { afterEach, describe, expect, it } from "vitest";
import { bindEndpointOf, loadConfig } from "../src/index.js";
import { waitFor } from "./helpers.js";
import { freePort, runNode } from "@desk/testkit";

describe("loadConfig", () => {
  it("has the seed's defaults and binds localhost on the loopback only", () => {
    expect(loadConfig({})).toEqual({
      brokerEndpoint: "tcp://127.0.0.1:5555",
      pubEndpoint: "tcp://127.0.0.1:5556",
      seed: undefined,
      tickMs: 5000,
      fillMs: undefined,
      heartbeatInterval: 2500,
      logLevel: "info",
    });
  });

  it("reads every variable; the first of several broker URLs is the one the mock plays", () => {
    const c = loadConfig({
      ZMQ_BROKER_URL: "tcp://localhost:6000,tcp://localhost:6001",
      ZMQ_PUB_URL: "tcp://0.0.0.0:6002",
      MOCK_SEED: "42",
      MOCK_TICK_MS: "250",
      MOCK_FILL_MS: "50",
      ZMQ_HEARTBEAT_INTERVAL: "100",
      LOG_LEVEL: "debug",
      MOCK_UNRELATED: "x",
    });
    expect(c).toEqual({
      brokerEndpoint: "tcp://127.0.0.1:6000",
      pubEndpoint: "tcp://0.0.0.0:6002",
      seed: 42,
      tickMs: 250,
      fillMs: 50,
      heartbeatInterval: 100,
      logLevel: "debug",
    });
    expect(loadConfig({ MOCK_SEED: "" }).seed).toBeUndefined(); // empty = unset
  });

  it("maps host names to bind endpoints", () => {
    expect(bindEndpointOf("tcp://localhost:5555")).toBe("tcp://127.0.0.1:5555");
    expect(bindEndpointOf("tcp://10.1.2.3:5555")).toBe("tcp://10.1.2.3:5555");
    expect(bindEndpointOf("tcp://*:5555")).toBe("tcp://*:5555");
    expect(bindEndpointOf("tcp://mock-broker:5555")).toBe("tcp://0.0.0.0:5555"); // a container's service name
  });

  it("refuses a bad value with one line naming the variable, the value and what is allowed", () => {
    expect(() => loadConfig({ MOCK_TICK_MS: "fast" })).toThrow(/^MOCK_TICK_MS="fast" is invalid: .*positive integer/);
    expect(() => loadConfig({ LOG_LEVEL: "loud" })).toThrow(/^LOG_LEVEL="loud" is invalid: .*"info"/);
    expect(() => loadConfig({ ZMQ_BROKER_URL: "http://x" })).toThrow(
      /^ZMQ_BROKER_URL="http:\/\/x" is invalid: expected tcp:\/\/host:port/,
    );
    expect(() => loadConfig({ ZMQ_PUB_URL: "tcp://localhost" })).toThrow(/^ZMQ_PUB_URL="tcp:\/\/localhost" is invalid/);
    expect(() => loadConfig({ MOCK_SEED: "-1" })).toThrow(/^MOCK_SEED="-1" is invalid/);
  });

  const broker = generateCurveKeyPair();
  const publisher = generateCurveKeyPair();
  const gateway = generateCurveKeyPair();
  const worker = generateCurveKeyPair();

  it("reads CURVE: the broker's pair from Z85 or a certificate file, the publisher's, the client and worker lists", () => {
    const dir = mkdtempSync(join(tmpdir(), "mock-curve-"));
    const secretFile = join(dir, "broker.key_secret");
    writeFileSync(secretFile, formatCurveCertificate(broker, "test"));
    const c = loadConfig({
      ZMQ_CURVE_SECRET_KEY_FILE: secretFile,
      ZMQ_CURVE_PUBLISHER_SECRET_KEY: publisher.secretKey,
      ZMQ_CURVE_CLIENT_KEYS: ` ${gateway.publicKey} , ${worker.publicKey}`,
      ZMQ_CURVE_WORKER_KEYS: `auth_service=${worker.publicKey}`,
      ZMQ_CURVE_WORKER_URLS: "auth_service=tcp://localhost:6010",
    });
    expect(c.curve).toEqual({
      secretKey: broker.secretKey,
      publisherSecretKey: publisher.secretKey,
      clients: [gateway.publicKey, worker.publicKey],
      workers: { auth_service: [worker.publicKey] },
      workerEndpoints: { auth_service: "tcp://127.0.0.1:6010" },
    });
    expect(loadConfig({}).curve).toBeUndefined();
  });

  it("refuses a bad CURVE setting with one line naming the variable, never printing a secret", () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [
        { ZMQ_CURVE_SECRET_KEY: `${broker.secretKey}x`, ZMQ_CURVE_CLIENT_KEYS: gateway.publicKey },
        /^ZMQ_CURVE_SECRET_KEY: .*40 Z85/,
      ],
      [
        {
          ZMQ_CURVE_SECRET_KEY: broker.secretKey,
          ZMQ_CURVE_PUBLIC_KEY: gateway.publicKey,
          ZMQ_CURVE_CLIENT_KEYS: gateway.publicKey,
        },
        /^ZMQ_CURVE_PUBLIC_KEY: does not belong to ZMQ_CURVE_SECRET_KEY/,
      ],
      [{ ZMQ_CURVE_SECRET_KEY: broker.secretKey }, /^ZMQ_CURVE_CLIENT_KEYS: lists no key/],
      [
        {
          ZMQ_CURVE_SECRET_KEY: broker.secretKey,
          ZMQ_CURVE_CLIENT_KEYS: gateway.publicKey,
          ZMQ_CURVE_WORKER_KEYS: `nope=${worker.publicKey}`,
        },
        /^ZMQ_CURVE_WORKER_KEYS: expected service=value/,
      ],
      [
        { ZMQ_CURVE_CLIENT_KEYS: gateway.publicKey },
        /^ZMQ_CURVE_SECRET_KEY: is required when ZMQ_CURVE_CLIENT_KEYS is set/,
      ],
      [
        { ZMQ_CURVE_SECRET_KEY_FILE: "/nonexistent/broker.key_secret" },
        /^ZMQ_CURVE_SECRET_KEY_FILE: cannot read .*ENOENT/,
      ],
    ];
    for (const [env, expected] of cases) {
      let message = "";
      try {
        loadConfig(env);
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(expected);
      expect(message).not.toContain(broker.secretKey);
      expect(message.split("\n")).toHaveLength(1);
    }
  });
});

/** src/main.ts as a process (through tsx, so the test does not depend on a build). */
describe("main", () => {
  const main = fileURLToPath(new URL("../src/main.ts", import.meta.url));
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  });

  function run(env: Record<string, string>) {
    const p = runNode(["--import", "tsx", main], env);
    children.push(p.child);
    return p;
  }

  it("exits 1 with one line on a bad variable", async () => {
    const { out, exited } = run({ MOCK_TICK_MS: "soon" });
    expect(await exited).toBe(1);
    expect(out.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(/^mock-broker: MOCK_TICK_MS="soon" is invalid/),
    ]);
  });

  it("exits 1 with one line on a bad CURVE key, without the key", async () => {
    const secret = generateCurveKeyPair().secretKey;
    const { out, exited } = run({ ZMQ_CURVE_SECRET_KEY: `${secret.slice(0, 39)}"` });
    expect(await exited).toBe(1);
    expect(out.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^mock-broker: ZMQ_CURVE_SECRET_KEY: /)]);
    expect(out.stderr).not.toContain(secret.slice(0, 39));
  });

  it("serves on ZMQ_BROKER_URL, logs with pino and closes cleanly on SIGTERM", async () => {
    const [brokerPort, pubPort] = [await freePort(), await freePort()];
    const { child, out, exited } = run({
      ZMQ_BROKER_URL: `tcp://localhost:${brokerPort}`,
      ZMQ_PUB_URL: `tcp://localhost:${pubPort}`,
      ZMQ_HEARTBEAT_INTERVAL: "200",
      MOCK_SEED: "3",
      LOG_LEVEL: "info",
    });
    await waitFor(() => out.stdout.includes("mock trading system ready"), "ready log line", 30_000);
    const line = JSON.parse(out.stdout.split("\n").find((l) => l.includes("mock trading system ready"))!) as {
      broker: string;
      pub: string;
    };
    expect(line.broker).toBe(`tcp://127.0.0.1:${brokerPort}`);
    expect(line.pub).toBe(`tcp://127.0.0.1:${pubPort}`);
    const client = new MdpClient({ endpoints: `tcp://localhost:${brokerPort}`, timeout: 5000 });
    try {
      const reply = loads(
        await client.request("account_service", dumps(["get_accounts", [], { _ctx: { userId: "u", requestId: "r" } }])),
      );
      expect((reply as [boolean, unknown[]])[1]).toHaveLength(3);
    } finally {
      await client.close();
    }
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  });
});

import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { pythonForSuite } from "@desk/testkit";
import { afterEach, describe, expect, it } from "vitest";
import {
  type CurveKeyPair,
  MdpBroker,
  MdpError,
  type MdpBrokerCurve,
  curveKeyPairOf,
  generateCurveKeyPair,
  z85Decode,
  z85Encode,
} from "../src/index.js";
import { FAST, Harness, W, cmd, waitFor } from "./helpers.js";

/**
 * CURVE end to end through real sockets: who may register for a service, who may
 * not, and a client that will not talk to a broker whose key is not the pinned one.
 * The "attack" tests run the rogue peers an attacker on the broker's network would.
 */
const broker = generateCurveKeyPair();
const client = generateCurveKeyPair();
const authWorker = generateCurveKeyPair();
const accountWorker = generateCurveKeyPair();
const stranger = generateCurveKeyPair();

const curve: MdpBrokerCurve = {
  secretKey: broker.secretKey,
  clients: [client.publicKey],
  workers: { auth: [authWorker.publicKey], account: [accountWorker.publicKey] },
};

const keysFor = (pair: CurveKeyPair, serverKey = broker.publicKey) => ({ ...pair, serverKey });

const FORGED = "forged: admin token";
const forge = () => Buffer.from(FORGED);

describe("curve keys", () => {
  it("Z85 matches RFC 32's test vector and round-trips keys", () => {
    const bytes = Buffer.from([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]);
    expect(z85Encode(bytes)).toBe("HelloWorld");
    expect(z85Decode("HelloWorld").equals(bytes)).toBe(true);
    expect(z85Encode(z85Decode(broker.secretKey))).toBe(broker.secretKey);
  });

  it("derives the public key from the secret key as libzmq does, and refuses a pair that does not belong", () => {
    expect(curveKeyPairOf(broker.secretKey)).toEqual(broker);
    expect(curveKeyPairOf(broker.secretKey, broker.publicKey)).toEqual(broker);
    expect(() => curveKeyPairOf(broker.secretKey, client.publicKey)).toThrow(/does not belong/);
    let message = "";
    try {
      curveKeyPairOf(`${broker.secretKey.slice(0, 39)}"`);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/not valid Z85/);
    expect(message).not.toContain(broker.secretKey.slice(0, 39));
  });
});

describe("MDP over CURVE", () => {
  const h = new Harness();
  afterEach(() => h.closeAll());

  async function curveBroker(o: Partial<ConstructorParameters<typeof MdpBroker>[0]> = {}) {
    const b = h.track(new MdpBroker({ ...FAST, curve, ...o }));
    const url = await b.bind("tcp://127.0.0.1:*");
    const authUrl = await b.bindWorkers("auth", "tcp://127.0.0.1:*");
    const accountUrl = await b.bindWorkers("account", "tcp://127.0.0.1:*");
    return { broker: b, url, authUrl, accountUrl };
  }

  it("serves a listed client through a listed worker, encrypted both ways", async () => {
    const { broker: b, url, authUrl } = await curveBroker();
    await h.worker(authUrl, "auth", (p) => Buffer.from(`ok:${p.toString()}`), { curve: keysFor(authWorker) });
    await waitFor(() => b.stats().services.auth?.workers === 1, "auth worker registered");
    const c = h.client(url, { curve: keysFor(client) });
    expect((await c.request("auth", Buffer.from("login"), { idempotent: true })).toString()).toBe("ok:login");
    expect(c.stats()).toMatchObject({ curve: true, handshakeFailures: 0 });
    expect(b.stats().curve).toMatchObject({ enabled: true, refused: 0, handshakeFailures: 0, wrongEndpoint: 0 });
    expect(b.stats().curve.admitted).toBeGreaterThanOrEqual(2);
  });

  it("a rogue worker with no key, an unlisted key or the wrong server key cannot register, and its forged replies never reach a caller", async () => {
    const { broker: b, url, authUrl } = await curveBroker();
    const noKey = await h.worker(authUrl, "auth", forge);
    const unlisted = await h.worker(authUrl, "auth", forge, { curve: keysFor(stranger) });
    const wrongServer = await h.worker(authUrl, "auth", forge, {
      curve: keysFor(authWorker, stranger.publicKey),
    });
    // Each was turned away at the handshake: no CURVE or the wrong server key before ZAP, the stranger by the allow-list.
    await waitFor(() => b.stats().curve.refused >= 1, "the unlisted key refused by the allow-list");
    await waitFor(() => b.stats().curve.handshakeFailures >= 2, "no-CURVE and wrong-server-key handshakes failed");
    await waitFor(() => unlisted.stats().handshakeFailures >= 1, "the unlisted worker saw its refusal");
    await waitFor(() => wrongServer.stats().handshakeFailures >= 1, "the wrong-server-key worker saw its failure");
    expect(noKey.stats().handled + unlisted.stats().handled + wrongServer.stats().handled).toBe(0);
    expect(b.stats().workersRegistered).toBe(0);
    expect(b.stats().services.auth?.workers ?? 0).toBe(0);

    // A caller's login is never answered by them: with no legitimate worker it expires...
    const c = h.client(url, { curve: keysFor(client), timeout: 300, retries: 1 });
    await expect(c.request("auth", Buffer.from("login"), { idempotent: true })).rejects.toBeInstanceOf(MdpError);
    // ...and once the real one registers, every answer is the real one's.
    await h.worker(authUrl, "auth", () => Buffer.from("real"), { curve: keysFor(authWorker) });
    await waitFor(() => b.stats().services.auth?.workers === 1, "the listed auth worker registered");
    const c2 = h.client(url, { curve: keysFor(client) });
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => c2.request("auth", Buffer.from("login"), { idempotent: true })),
    );
    expect(new Set(answers.map(String))).toEqual(new Set(["real"]));
    expect(b.stats().services.auth?.workers).toBe(1);
  });

  it("a valid key listed only for another service cannot register for auth", async () => {
    const { broker: b, url, authUrl, accountUrl } = await curveBroker();
    // On auth's endpoint the allow-list refuses it...
    const atAuth = await h.worker(authUrl, "auth", forge, { curve: keysFor(accountWorker) });
    await waitFor(() => atAuth.stats().handshakeFailures >= 1, "account's key refused on auth's endpoint");
    expect(b.stats().curve.refused).toBeGreaterThanOrEqual(1);
    // ...on its own endpoint it is admitted, but a READY for auth there is refused (DISCONNECT).
    const atAccount = h.rawDealer(accountUrl, { ...curveDealer(accountWorker) });
    await atAccount.send(["", W, cmd(1), "auth"]);
    const [, proto, command] = await atAccount.receive();
    expect(String(proto)).toBe(W);
    expect(command?.[0]).toBe(0x05);
    expect(b.stats().curve.wrongEndpoint).toBe(1);
    // A client key holder cannot register anything on the client endpoint either.
    const asClient = h.rawDealer(url, { ...curveDealer(client) });
    await asClient.send(["", W, cmd(1), "auth"]);
    const [, , refusal] = await asClient.receive();
    expect(refusal?.[0]).toBe(0x05);
    expect(b.stats().curve.wrongEndpoint).toBe(2);
    expect(b.stats().workersRegistered).toBe(0);
    // Forged REPLYs from it go nowhere: it is not a registered worker.
    await atAccount.send(["", W, cmd(3), "anyone", "", "id-1", FORGED]);
    await waitFor(() => b.stats().unknownWorker >= 1, "the forged reply refused as from an unknown worker");
    expect(b.stats().replies).toBe(0);
    // The account worker still serves account, where it is listed.
    await h.worker(accountUrl, "account", () => Buffer.from("accounts"), { curve: keysFor(accountWorker) });
    const c = h.client(url, { curve: keysFor(client) });
    expect((await c.request("account", Buffer.from("list"), { idempotent: true })).toString()).toBe("accounts");
    // A client that the broker does not list gets nothing either.
    const unlistedClient = h.client(url, { curve: keysFor(stranger), timeout: 300, retries: 1 });
    await expect(unlistedClient.request("account", Buffer.from("list"), { idempotent: true })).rejects.toMatchObject({
      code: "TIMEOUT",
    });
    expect(unlistedClient.stats().handshakeFailures).toBeGreaterThanOrEqual(1);
  });

  it("the client refuses a broker whose key is not the pinned one: nothing it sends reaches the impostor", async () => {
    // The impostor even admits our client's public key (public keys are not secrets).
    const impostorKeys = generateCurveKeyPair();
    const impostor = h.track(
      new MdpBroker({
        ...FAST,
        curve: {
          secretKey: impostorKeys.secretKey,
          clients: [client.publicKey],
          workers: { auth: [authWorker.publicKey] },
        },
      }),
    );
    const impostorUrl = await impostor.bind("tcp://127.0.0.1:*");
    const impostorWorkers = await impostor.bindWorkers("auth", "tcp://127.0.0.1:*");
    await h.worker(impostorWorkers, "auth", forge, { curve: keysFor(authWorker, impostorKeys.publicKey) });
    await waitFor(() => impostor.stats().services.auth?.workers === 1, "the impostor's own worker registered");

    // And one that takes anyone: no CURVE at all, a worker of its own behind it.
    const plain = h.track(new MdpBroker(FAST));
    const plainUrl = await plain.bind("tcp://127.0.0.1:*");
    await h.worker(plainUrl, "auth", forge);
    await waitFor(() => plain.stats().services.auth?.workers === 1, "the plain impostor's worker registered");

    for (const [target, url] of [
      [plain, plainUrl],
      [impostor, impostorUrl],
    ] as const) {
      const c = h.client(url, { curve: keysFor(client), timeout: 400, retries: 2 });
      const write = c.request("auth", Buffer.from("change_password"));
      const read = c.request("auth", Buffer.from("authenticate"), { idempotent: true });
      await expect(write).rejects.toMatchObject({ code: "TIMEOUT", message: /never sent/ });
      await expect(read).rejects.toMatchObject({ code: "TIMEOUT" });
      expect(c.stats().handshakeFailures).toBeGreaterThanOrEqual(1);
      expect(target.stats().requests).toBe(0);
      expect(target.stats().mmi).toBe(0);
    }
    expect(impostor.stats().curve.handshakeFailures).toBeGreaterThanOrEqual(1);
  });

  it("fails closed: a broker whose ZAP handler is gone admits no one", async () => {
    const { broker: b, authUrl } = await curveBroker();
    // Reach into the broker the way a crash of its handler would: close only the ZAP socket.
    await (b as unknown as { zap: { close(): Promise<void> } }).zap.close();
    const w = await h.worker(authUrl, "auth", forge, { curve: keysFor(authWorker) });
    await waitFor(() => w.stats().handshakeFailures >= 1, "handshake refused without a ZAP handler");
    expect(b.stats().workersRegistered).toBe(0);
  });

  it("refuses bad curve options with a TypeError naming them, never a secret", () => {
    expect(() => new MdpBroker({ curve: { ...curve, secretKey: "short" } })).toThrow(/curve.secretKey must be 40/);
    expect(() => new MdpBroker({ curve: { ...curve, clients: ["nope"] } })).toThrow(/curve.clients\[0\]/);
    const plain = h.track(new MdpBroker());
    return expect(plain.bindWorkers("auth", "tcp://127.0.0.1:*")).rejects.toThrow(/need options.curve/);
  });
});

function curveDealer(pair: CurveKeyPair) {
  return { curveServerKey: broker.publicKey, curvePublicKey: pair.publicKey, curveSecretKey: pair.secretKey };
}

const scripts = fileURLToPath(new URL("../../../python-scripts/", import.meta.url));
const python = pythonForSuite("mdp CURVE interop", ["zmq"]);

describe.skipIf(python === undefined)("CURVE interop with pyzmq", () => {
  const h = new Harness();
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    await h.closeAll();
  });

  function runWorker(endpoint: string, service: string, env: Record<string, string>): ChildProcess {
    const child = spawn(
      python as string,
      [`${scripts}mdp_worker.py`, endpoint, service, "--mode", "upper", "--heartbeat", "100", "--liveness", "10"],
      { stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH ?? "", ...env } },
    );
    children.push(child);
    return child;
  }

  it("a pyzmq CURVE worker serves through our broker; one with a wrong key is refused and counted", async () => {
    const b = h.track(new MdpBroker({ ...FAST, liveness: 10, curve }));
    const url = await b.bind("tcp://127.0.0.1:*");
    const authUrl = await b.bindWorkers("auth", "tcp://127.0.0.1:*");
    runWorker(authUrl, "auth", {
      ZMQ_CURVE_SERVER_KEY: broker.publicKey,
      ZMQ_CURVE_PUBLIC_KEY: stranger.publicKey,
      ZMQ_CURVE_SECRET_KEY: stranger.secretKey,
    });
    await waitFor(() => b.stats().curve.refused >= 1, "the pyzmq worker with an unlisted key refused", 15_000);
    expect(b.stats().workersRegistered).toBe(0);

    runWorker(authUrl, "auth", { ZMQ_CURVE_SERVER_KEY: broker.publicKey, ZMQ_CURVE_SECRET_KEY: authWorker.secretKey });
    await waitFor(() => b.stats().services.auth?.workers === 1, "the listed pyzmq worker registered", 15_000);
    const c = h.client(url, { curve: keysFor(client), timeout: 5000 });
    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, i) => c.request("auth", Buffer.from(`m${i}`), { idempotent: true })),
    );
    expect(replies.map(String)).toEqual(replies.map((_, i) => `py:M${i}`));
    expect(b.stats().services.auth?.workers).toBe(1);
  });

  it("a pyzmq worker with a bad key variable stops with one line that does not print the secret", async () => {
    const child = runWorker("tcp://127.0.0.1:1", "auth", {
      ZMQ_CURVE_SERVER_KEY: broker.publicKey,
      ZMQ_CURVE_SECRET_KEY: `${authWorker.secretKey}x`,
    });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const code = await new Promise((resolve) => child.once("exit", resolve));
    expect(code).toBe(2);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).toMatch(/ZMQ_CURVE_SECRET_KEY/);
    expect(stderr).not.toContain(authWorker.secretKey);
  });
});

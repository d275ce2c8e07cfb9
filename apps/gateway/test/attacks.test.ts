import { existsSync, readFileSync } from "node:fs";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startMockBackend } from "@desk/mock-broker";
import { type NodeProcess, runNode, waitFor } from "@desk/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { TEST_SECRET, login, rest } from "./helpers/stack.js";
import { straddle as straddleOf } from "./helpers/fake-backend.js";

/**
 * The attacks of issue 13, as an attacker on the gateway's port would run them,
 * against `node dist/main.js` as a child process in front of the mock trading
 * system: each gets its 4xx/429, nothing of it reaches the backend, and the gateway
 * process's resident memory stays within 100 MB of where it started.
 */

const mainJs = fileURLToPath(new URL("../dist/main.js", import.meta.url));
const RSS_BUDGET_MB = 100;

type Mock = Awaited<ReturnType<typeof startMockBackend>>;

let mock: Mock;
let gateway: NodeProcess;
let url: string;
let trader: string;
let admin: string;
let auditDir: string;
let rssStart = 0;
let rssMax = 0;
let sampler: NodeJS.Timeout | undefined;

/** Resident set size of the gateway process, MB (Linux /proc). */
function rssMb(): number {
  const status = readFileSync(`/proc/${gateway.child.pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) / 1024;
}

// What parse_instructions makes of the desk's shorthand: the fake backend's own.
const straddle = straddleOf();

async function metric(name: string): Promise<number> {
  const text = (await rest(url, "GET", "/metrics")).body as string;
  const line = text.split("\n").find((l) => l.startsWith(name));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
}

/**
 * The general per-address call limit (400 calls per 2 s window) also meets a fast attack;
 * each attack starts once the address is admitted again, so it meets its own limit only.
 */
async function untilAddressAdmitted(): Promise<void> {
  await waitFor(
    async () => (await rest(url, "GET", "/api/v1/accounts", { token: trader })).status === 200,
    "the address's call window to reopen",
  );
}

const authenticateCalls = () => metric('gateway_backend_requests_total{service="auth_service",method="authenticate"');

beforeAll(async () => {
  if (!existsSync(mainJs)) throw new Error("run `pnpm --filter @desk/gateway build` first (turbo's test task does)");
  mock = await startMockBackend({ tickMs: 1000, heartbeatInterval: 500, seed: 3 });
  auditDir = mkdtempSync(join(tmpdir(), "gateway-attacks-"));
  gateway = runNode([mainJs], {
    PORT: "0",
    HOST: "127.0.0.1",
    ZMQ_BROKER_URL: mock.brokerUrl,
    ZMQ_PUB_URL: mock.pubUrl,
    USE_MOCK_ZMQ: "false",
    JWT_SECRET: TEST_SECRET,
    LOG_LEVEL: "info",
    AUDIT_LOG: join(auditDir, "audit.log"),
  });
  const listening = await waitFor(
    () => /"msg":"gateway listening"/.test(gateway.out.stdout) || gateway.child.exitCode !== null,
    "the gateway to listen",
  );
  expect(listening).toBe(true);
  url = /"url":"(http:\/\/[^"]+)"/.exec(gateway.out.stdout)![1]!;
  // Logged in before the login attacks: those lock this address out of logging in.
  trader = await login(url, "trader1", "trader123");
  admin = await login(url, "admin", "admin123");
  // Warm: the first calls load code paths (and their memory) that every later call shares.
  for (let i = 0; i < 20; i++) await rest(url, "GET", "/api/v1/accounts", { token: trader });
  rssStart = rssMb();
  rssMax = rssStart;
  sampler = setInterval(() => {
    rssMax = Math.max(rssMax, rssMb());
  }, 25);
}, 60_000);

afterAll(async () => {
  if (sampler) clearInterval(sampler);
  if (gateway && gateway.child.exitCode === null) {
    gateway.child.kill("SIGTERM");
    await gateway.exited;
  }
  await mock?.close();
  if (auditDir) rmSync(auditDir, { recursive: true, force: true });
});

describe("the attacks of issue 13 against a gateway process", () => {
  it("600 failed logins under 600 usernames from one address: 429 once the address has failed 20 times", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 600; i++) {
      const r = await rest(url, "POST", "/api/v1/auth/login", { body: { username: `nobody${i}`, password: "guess" } });
      statuses.push(r.status);
    }
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(20).every((s) => s === 429)).toBe(true);
    await untilAddressAdmitted();
    const limited = await rest(url, "POST", "/api/v1/auth/login", { body: { username: "trader1", password: "x" } });
    expect(limited.status).toBe(429);
    expect(limited.body.message).toMatch(/^Too many failed logins from this address/);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    // Refused by the failed-login limit per address (some may meet the general per-address call limit first).
    expect(await metric('gateway_rate_limited_total{scope="login-ip"}')).toBeGreaterThan(0);
  });

  it("300 logins with 900 KB usernames: refused before any hashing, limiter key or backend call", async () => {
    await untilAddressAdmitted();
    const sentBefore = await authenticateCalls();
    const big = "u".repeat(900 * 1024);
    let next = 0;
    const statuses: number[] = [];
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        while (next < 300) {
          const i = next++;
          const r = await rest(url, "POST", "/api/v1/auth/login", { body: { username: `${big}${i}`, password: "x" } });
          statuses.push(r.status);
          // Unauthenticated procedures take 16 KB bodies at most: 413 before the body is even parsed.
          if (i === 0) expect(r.body.code).toBe("PAYLOAD_TOO_LARGE");
        }
      }),
    );
    expect(statuses).toHaveLength(300);
    expect(statuses.every((s) => s === 413)).toBe(true);
    const trpc = await fetch(`${url}/trpc/auth.login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ json: { username: big, password: "x" } }),
    });
    expect(trpc.status).toBe(413);
    // Under the body cap, the username's own bound (128 characters) refuses it, on both transports.
    const long = await rest(url, "POST", "/api/v1/auth/login", { body: { username: "u".repeat(8000), password: "x" } });
    expect(long.status).toBe(400);
    expect(long.body.message).toMatch(/^Invalid input: username: Too big: expected string to have <=128 characters/);
    const longTrpc = await fetch(`${url}/trpc/auth.login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ json: { username: "trader1", password: "p".repeat(8000) } }),
    });
    expect(longTrpc.status).toBe(400);
    expect(await authenticateCalls()).toBe(sentBefore);
  });

  it("a 10 MB body: 413 over REST and tRPC, and the same connection then serves the next call", async () => {
    await untilAddressAdmitted();
    const { port } = new URL(url);
    // A raw connection, so the test sees exactly what the server does with it (Node's own
    // client never reuses a socket whose response came before its upload ended).
    const socket = net.connect(Number(port), "127.0.0.1");
    await new Promise((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    let received = "";
    let closed = false;
    socket.on("data", (d: Buffer) => {
      received += d.toString("latin1");
    });
    socket.on("close", () => {
      closed = true;
    });
    const exchange = async (path: string, body: string): Promise<{ status: number; body: string }> => {
      received = "";
      socket.write(
        `POST ${path} HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n` +
          `Authorization: Bearer ${trader}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`,
      );
      await new Promise<void>((resolve) => socket.write(body, () => resolve()));
      const response = await waitFor(() => {
        const end = received.indexOf("\r\n\r\n");
        if (end < 0) return closed ? "closed" : undefined;
        const head = received.slice(0, end);
        const rest = received.slice(end + 4);
        if (/transfer-encoding: chunked/i.test(head)) {
          if (!rest.endsWith("0\r\n\r\n")) return undefined;
          let body = "";
          for (let at = 0; ; ) {
            const lineEnd = rest.indexOf("\r\n", at);
            const size = Number.parseInt(rest.slice(at, lineEnd), 16);
            if (size === 0) break;
            body += rest.slice(lineEnd + 2, lineEnd + 2 + size);
            at = lineEnd + 2 + size + 2;
          }
          return { head, body };
        }
        const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        return rest.length >= length ? { head, body: rest.slice(0, length) } : undefined;
      }, `an answer to POST ${path}`);
      if (response === "closed") throw new Error(`the gateway closed the connection instead of answering ${path}`);
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(response.head)?.[1]);
      return { status, body: Buffer.from(response.body, "latin1").toString() };
    };
    try {
      const huge = JSON.stringify({ text: "a".repeat(10 * 1024 * 1024), accounts: ["account1"] });
      const small = { text: "双卖 500 当月 万1 的v", accounts: ["account1"] };
      const restHuge = await exchange("/api/v1/instructions/parse", huge);
      expect(restHuge.status).toBe(413);
      expect(JSON.parse(restHuge.body).code).toBe("PAYLOAD_TOO_LARGE");
      expect((await exchange("/api/v1/instructions/parse", JSON.stringify(small))).status).toBe(200);
      const trpcHuge = await exchange("/trpc/instruction.parse", JSON.stringify({ json: JSON.parse(huge) }));
      expect(trpcHuge.status).toBe(413);
      expect((await exchange("/trpc/instruction.parse", JSON.stringify({ json: small }))).status).toBe(200);
      expect(closed).toBe(false);
    } finally {
      socket.destroy();
    }
  });

  it("JSON nested 100,000 deep: 400 over REST, tRPC over HTTP and tRPC over the WebSocket", async () => {
    await untilAddressAdmitted();
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    const post = (path: string, body: string) =>
      fetch(`${url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${trader}` },
        body,
      });
    const r1 = await post("/api/v1/instructions/parse", `{"text":"x","accounts":${deep}}`);
    expect(r1.status).toBe(400);
    expect(await r1.json()).toMatchObject({
      code: "PARSE_ERROR",
      message: "The JSON body nests deeper than 400 levels",
    });
    const r2 = await post("/api/v1/accounts/account1/enabled", `{"enabled":true,"x":${deep}}`);
    expect(r2.status).toBe(400);
    const r3 = await post(
      "/trpc/instruction.parse",
      `{"json":{"text":"x","accounts":["account1"]},"meta":{"values":${deep}}}`,
    );
    expect(r3.status).toBe(400);
    expect(JSON.stringify(await r3.json())).toContain("Input nests deeper than 400 levels");

    const wsUrl = `${url.replace("http", "ws")}/trpc`;
    const socket = new WebSocket(wsUrl);
    try {
      await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
      const reply = () =>
        new Promise<string>((resolve) => socket.once("message", (m: Buffer) => resolve(m.toString())));
      const first = reply();
      socket.send(`{"id":1,"method":"query","params":{"path":"system.health","input":{"json":${deep}}}}`);
      // Refused while the message is parsed (so without its id), as tRPC answers any unparsable message.
      const answer = JSON.parse(await first) as { error?: { json?: { message?: string; data?: { code?: string } } } };
      expect(answer.error?.json).toMatchObject({
        message: "Input nests deeper than 400 levels",
        data: { code: "PARSE_ERROR", httpStatus: 400 },
      });
      // The socket still serves.
      const second = reply();
      socket.send('{"id":2,"method":"query","params":{"path":"system.health","input":{}}}');
      expect(JSON.parse(await second) as unknown).toMatchObject({ id: 2, result: { type: "data" } });
    } finally {
      socket.close();
    }
  });

  it("90,000 accounts in one call: 400 at once, over REST and tRPC, parse and execute", async () => {
    await untilAddressAdmitted();
    const accounts = Array.from({ length: 90_000 }, (_, i) => `a${i}`);
    const parse = await rest(url, "POST", "/api/v1/instructions/parse", {
      token: admin,
      body: { text: "双卖 500 当月 万1 的v", accounts },
    });
    expect(parse.status).toBe(400);
    expect(parse.body.message).toMatch(/^Invalid input: accounts: Too big: expected array to have <=100 items/);
    const execute = await rest(url, "POST", "/api/v1/instructions/execute", {
      token: admin,
      body: { instructions: [straddle], accounts, dryRun: true },
    });
    expect(execute.status).toBe(400);
    const trpc = await fetch(`${url}/trpc/instruction.execute`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${admin}` },
      body: JSON.stringify({ json: { instructions: [straddle], accounts, dryRun: true } }),
    });
    expect(trpc.status).toBe(400);
  });

  it("20,000 instructions in one call: 400 at once", async () => {
    await untilAddressAdmitted();
    // Compact ones, so the body stays under the 1 MB cap and the contract's bound is what refuses it.
    const instructions = Array.from({ length: 20_000 }, (_, i) => ({ type: "close", text: `平${i}` }));
    const r = await rest(url, "POST", "/api/v1/instructions/execute", {
      token: admin,
      body: { instructions, accounts: ["account1"], dryRun: true },
    });
    expect(r.status).toBe(400);
    expect(r.body.message).toMatch(/^Invalid input: instructions: Too big: expected array to have <=50 items/);
  });

  it("duplicates: an account or an instruction twice is 400 and nothing runs, in calls and in subscriptions", async () => {
    await untilAddressAdmitted();
    const twice = await rest(url, "POST", "/api/v1/instructions/execute", {
      token: trader,
      body: { instructions: [straddle], accounts: ["account1", "account1"] },
    });
    expect(twice.status).toBe(400);
    expect(twice.body.message).toBe("Invalid input: accounts.1: duplicate account: the same as account 0");
    const sameInstruction = await rest(url, "POST", "/api/v1/instructions/execute", {
      token: trader,
      body: { instructions: [straddle, { ...straddle }], accounts: ["account1"] },
    });
    expect(sameInstruction.status).toBe(400);
    expect(sameInstruction.body.message).toMatch(/^Invalid input: instructions.1: duplicate instruction/);
    const parse = await rest(url, "POST", "/api/v1/instructions/parse", {
      token: trader,
      body: { text: "双卖 500 当月 万1 的v", accounts: ["account1", "account2", "account1"] },
    });
    expect(parse.status).toBe(400);
    // The gateway refused them: the audit trail says "refused" (never sent), no execution started.
    const audit = readFileSync(join(auditDir, "audit.log"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { action: string; outcome: string; code?: string });
    const executes = audit.filter((l) => l.action === "instruction.execute");
    expect(executes.length).toBeGreaterThanOrEqual(2);
    expect(executes.every((l) => l.outcome === "refused" && l.code === "BAD_REQUEST")).toBe(true);

    // Subscriptions: the same bound and the same refusal, over the WebSocket.
    const socket = new WebSocket(`${url.replace("http", "ws")}/trpc?connectionParams=1`);
    try {
      await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
      socket.send(JSON.stringify({ method: "connectionParams", data: { token: trader } }));
      type Answer = { id: number; error?: { json?: { message?: string; data?: { code?: string } } } };
      const answers = new Map<number, Answer>();
      socket.on("message", (m: Buffer) => {
        const msg = JSON.parse(m.toString()) as Answer;
        answers.set(msg.id, msg);
      });
      const subscribe = (id: number, path: string, input: unknown) =>
        socket.send(JSON.stringify({ id, method: "subscription", params: { path, input: { json: input } } }));
      subscribe(1, "account.onUpdate", { accountIds: ["account1", "account1"] });
      subscribe(2, "algorithm.onProgress", { algorithmIds: ["algo-001", "algo-001"] });
      subscribe(3, "market.onTick", { symbols: ["510500", "510300", "510500"] });
      subscribe(4, "market.onTick", { symbols: Array.from({ length: 501 }, (_, i) => `S${i}`) });
      subscribe(5, "account.onUpdate", { accountIds: Array.from({ length: 90_000 }, (_, i) => `a${i}`) });
      await waitFor(() => answers.size >= 5, "an answer to each subscription");
      for (const id of [1, 2, 3, 4, 5]) expect(answers.get(id)?.error?.json?.data?.code).toBe("BAD_REQUEST");
      expect(answers.get(1)?.error?.json?.message).toBe(
        "Invalid input: accountIds.1: duplicate account: the same as account 0",
      );
      expect(answers.get(3)?.error?.json?.message).toBe(
        "Invalid input: symbols.2: duplicate symbol: the same as symbol 0",
      );
    } finally {
      socket.close();
    }
  });

  it(`kept the gateway's resident memory within ${RSS_BUDGET_MB} MB of its start`, () => {
    rssMax = Math.max(rssMax, rssMb());
    console.log(`gateway RSS: start ${rssStart.toFixed(0)} MB, peak ${rssMax.toFixed(0)} MB during the attacks`);
    expect(rssMax - rssStart).toBeLessThan(RSS_BUDGET_MB);
    // And it still serves.
    return rest(url, "GET", "/api/v1/accounts", { token: trader }).then((r) => expect(r.status).toBe(200));
  });
});

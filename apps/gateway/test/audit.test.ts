import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMockBackend } from "@desk/mock-broker";
import { waitFor } from "@desk/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGateway } from "../src/index.js";
import { rest, testConfig } from "./helpers/stack.js";
import { collect, createClient } from "./helpers/ws-client.js";
import { straddle as straddleOf } from "./helpers/fake-backend.js";

/** The audit trail (AUDIT_LOG): one line per write and per refusal of one, nothing secret in it. */

interface Line {
  log: string;
  level: string;
  time: string;
  action: string;
  method?: string;
  userId?: string;
  username?: string;
  sessionId?: string;
  ip: string;
  transport: string;
  requestId?: string;
  clientOrderId?: string;
  target?: Record<string, unknown>;
  result?: Record<string, unknown>;
  outcome: string;
  code?: string;
  message?: string;
  durationMs: number;
}

// What parse_instructions makes of the desk's shorthand: the fake backend's own.
const straddle = straddleOf();

let mock: Awaited<ReturnType<typeof startMockBackend>>;
let gateway: Awaited<ReturnType<typeof startGateway>>;
let dir: string;
let file: string;
const secrets: string[] = [];

const lines = (): Line[] =>
  readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Line);

/** Runs `act` and returns the audit lines it added. */
async function linesOf(act: () => Promise<unknown>): Promise<Line[]> {
  const before = lines().length;
  await act();
  return lines().slice(before);
}

async function login(username: string, password: string) {
  const r = await rest(gateway.url, "POST", "/api/v1/auth/login", { body: { username, password } });
  if (r.status === 200) secrets.push(r.body.token, r.body.refreshToken);
  return r;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "gateway-audit-"));
  file = join(dir, "audit.log");
  mock = await startMockBackend({ tickMs: 200, fillMs: 100, heartbeatInterval: 500, seed: 5 });
  gateway = await startGateway(testConfig(mock, { zmqTimeout: 3000, auditLog: file, loginFailuresPerMinute: 2 }));
});
afterAll(async () => {
  await gateway?.close();
  await mock?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("the audit trail", () => {
  it("logs in, refreshes and logs out: one line each, with who, from where and the session", async () => {
    const [ok] = await linesOf(() => login("trader1", "trader123"));
    expect(ok).toMatchObject({
      log: "audit",
      level: "info",
      action: "auth.login",
      userId: "user-trader1",
      username: "trader1",
      ip: "127.0.0.1",
      transport: "http",
      outcome: "ok",
    });
    expect(ok!.sessionId).toBeTypeOf("string");
    expect(Date.parse(ok!.time)).toBeGreaterThan(0);
    expect(ok!.durationMs).toBeGreaterThan(0);

    // Wrong passwords for admin (whose (username, address) pair then meets its limit, 2 a minute here).
    const wrong = await linesOf(() => login("admin", "not-the-password"));
    expect(wrong).toEqual([
      expect.objectContaining({ action: "auth.login", username: "admin", outcome: "failed", code: "UNAUTHORIZED" }),
    ]);
    await login("admin", "still-not-it");
    const limited = await linesOf(() => login("admin", "third-guess"));
    expect(limited).toEqual([
      expect.objectContaining({ action: "auth.login", outcome: "refused", code: "TOO_MANY_REQUESTS" }),
    ]);
    const invalid = await linesOf(() => login("u".repeat(200), "x"));
    expect(invalid).toEqual([
      expect.objectContaining({ action: "auth.login", outcome: "refused", code: "BAD_REQUEST" }),
    ]);

    const session = (await login("viewer1", "viewer123")).body;
    const refreshed = await linesOf(() =>
      rest(gateway.url, "POST", "/api/v1/auth/refresh", { body: { refreshToken: session.refreshToken } }).then((r) =>
        secrets.push(r.body.token, r.body.refreshToken),
      ),
    );
    expect(refreshed).toEqual([
      expect.objectContaining({
        action: "auth.refresh",
        userId: "user-viewer1",
        outcome: "ok",
        target: { generation: 1 },
      }),
    ]);
    const reused = await linesOf(() =>
      rest(gateway.url, "POST", "/api/v1/auth/refresh", { body: { refreshToken: session.refreshToken } }),
    );
    expect(reused).toEqual([
      expect.objectContaining({ action: "auth.refresh", outcome: "refused", code: "UNAUTHORIZED" }),
    ]);
    expect(reused[0]!.message).toMatch(/used twice/);

    const other = (await login("viewer1", "viewer123")).body;
    const out = await linesOf(() => rest(gateway.url, "POST", "/api/v1/auth/logout", { token: other.token }));
    expect(out).toEqual([
      expect.objectContaining({ action: "auth.logout", userId: "user-viewer1", username: "viewer1", outcome: "ok" }),
    ]);
    const afterLogout = await linesOf(() => rest(gateway.url, "POST", "/api/v1/auth/logout", { token: other.token }));
    expect(afterLogout).toEqual([
      expect.objectContaining({ action: "auth.logout", outcome: "refused", code: "UNAUTHORIZED" }),
    ]);
  });

  it("writes one line per write with its requestId, target and result; reads write none", async () => {
    const trader = (await login("trader1", "trader123")).body.token as string;
    const viewer = (await login("viewer1", "viewer123")).body.token as string;
    expect(await linesOf(() => rest(gateway.url, "GET", "/api/v1/accounts", { token: trader }))).toEqual([]);

    const enabled = await linesOf(() =>
      rest(gateway.url, "POST", "/api/v1/accounts/account2/enabled", { token: trader, body: { enabled: false } }),
    );
    expect(enabled).toEqual([
      expect.objectContaining({
        action: "account.setEnabled",
        method: "account_service.set_account_enabled",
        userId: "user-trader1",
        target: { accountId: "account2", enabled: false },
        result: { enabled: false },
        outcome: "ok",
      }),
    ]);
    expect(enabled[0]!.requestId).toMatch(/^gw-/);
    await rest(gateway.url, "POST", "/api/v1/accounts/account2/enabled", { token: trader, body: { enabled: true } });

    const forbidden = await linesOf(() =>
      rest(gateway.url, "POST", "/api/v1/accounts/account1/enabled", { token: viewer, body: { enabled: false } }),
    );
    expect(forbidden).toEqual([
      expect.objectContaining({
        action: "account.setEnabled",
        userId: "user-viewer1",
        outcome: "refused",
        code: "FORBIDDEN",
      }),
    ]);
    const badInput = await linesOf(() =>
      rest(gateway.url, "POST", "/api/v1/accounts/account1/enabled", { token: trader, body: { enabled: "no" } }),
    );
    expect(badInput).toEqual([expect.objectContaining({ outcome: "refused", code: "BAD_REQUEST" })]);
    const noToken = await linesOf(() =>
      rest(gateway.url, "POST", "/api/v1/accounts/account1/enabled", { body: { enabled: false } }),
    );
    expect(noToken).toEqual([
      expect.objectContaining({
        action: "account.setEnabled",
        outcome: "refused",
        code: "UNAUTHORIZED",
      }),
    ]);

    const execute = await linesOf(() =>
      rest(gateway.url, "POST", "/api/v1/instructions/execute", {
        token: trader,
        body: { instructions: [straddle], accounts: ["account1"], clientOrderId: "audit-order-1" },
      }),
    );
    expect(execute).toHaveLength(1);
    expect(execute[0]).toMatchObject({
      action: "instruction.execute",
      method: "instruction_service.execute_instructions",
      clientOrderId: "audit-order-1",
      target: { accounts: ["account1"], instructions: 1, types: ["straddle"], dryRun: false },
      outcome: "ok",
    });
    expect(execute[0]!.requestId).toMatch(/^co-/);
    const executionId = execute[0]!.result?.executionId as string;
    expect(executionId).toBeTypeOf("string");
    const notYours = await linesOf(() =>
      rest(gateway.url, "POST", "/api/v1/instructions/execute", {
        token: trader,
        body: { instructions: [straddle], accounts: ["account3"], clientOrderId: "audit-order-2" },
      }),
    );
    expect(notYours).toEqual([
      expect.objectContaining({
        action: "instruction.execute",
        outcome: "refused",
        code: "FORBIDDEN",
        clientOrderId: "audit-order-2",
        target: expect.objectContaining({ accounts: ["account3"] }),
      }),
    ]);

    const cancel = await linesOf(() =>
      rest(gateway.url, "POST", `/api/v1/executions/${executionId}/cancel`, { token: trader }),
    );
    expect(cancel).toEqual([
      expect.objectContaining({ action: "instruction.cancel", target: { executionId }, outcome: expect.any(String) }),
    ]);

    const algorithms = (await rest(gateway.url, "GET", "/api/v1/algorithms", { token: trader })).body as Array<{
      id: string;
      status: string;
    }>;
    const algo = algorithms.find((a) => a.status === "running" || a.status === "paused")!;
    const command = algo.status === "running" ? "pause" : "resume";
    const commanded = await linesOf(() =>
      rest(gateway.url, "POST", `/api/v1/algorithms/${algo.id}/command`, { token: trader, body: { command } }),
    );
    expect(commanded).toEqual([
      expect.objectContaining({
        action: "algorithm.command",
        method: "algorithm_service.send_algorithm_command",
        target: { algorithmId: algo.id, command },
        outcome: "ok",
      }),
    ]);
  });

  it("audits a live execution and its refusal over the WebSocket", async () => {
    const trader = (await login("trader1", "trader123")).body.token as string;
    const c = createClient(gateway.url, gateway.wsUrl, trader);
    try {
      const refused = await linesOf(async () => {
        const sub = collect((h) =>
          c.client.instruction.executeLive.subscribe({ instructions: [straddle], accounts: ["account3"] }, h),
        );
        await waitFor(() => sub.errors.length > 0, "the refusal");
        sub.stop();
      });
      expect(refused).toEqual([
        expect.objectContaining({
          action: "instruction.executeLive",
          transport: "ws",
          outcome: "refused",
          code: "FORBIDDEN",
          target: expect.objectContaining({ accounts: ["account3"] }),
        }),
      ]);
      const started = await linesOf(async () => {
        const sub = collect((h) =>
          c.client.instruction.executeLive.subscribe(
            { instructions: [straddle], accounts: ["account1"], dryRun: true },
            h,
          ),
        );
        await waitFor(() => sub.data.length > 0, "the execution");
        sub.stop();
      });
      expect(started).toEqual([
        expect.objectContaining({
          action: "instruction.executeLive",
          method: "instruction_service.execute_instructions",
          transport: "ws",
          outcome: "ok",
          target: expect.objectContaining({ dryRun: true }),
        }),
      ]);
    } finally {
      await c.close();
    }
  });

  it("records a password change without the passwords, and never a token", async () => {
    const t = (await login("viewer1", "viewer123")).body.token as string;
    const wrong = await linesOf(() =>
      rest(gateway.url, "POST", "/api/v1/auth/change-password", {
        token: t,
        body: { oldPassword: "oops-wrong-old", newPassword: "viewer-secret-1" },
      }),
    );
    expect(wrong).toEqual([
      expect.objectContaining({ action: "auth.changePassword", target: { userId: "user-viewer1" }, outcome: "failed" }),
    ]);
    const changed = await linesOf(() =>
      rest(gateway.url, "POST", "/api/v1/auth/change-password", {
        token: t,
        body: { oldPassword: "viewer123", newPassword: "viewer-secret-2" },
      }),
    );
    expect(changed).toEqual([
      expect.objectContaining({ action: "auth.changePassword", method: "auth_service.change_password", outcome: "ok" }),
    ]);
    const t2 = (await login("viewer1", "viewer-secret-2")).body.token as string;
    await rest(gateway.url, "POST", "/api/v1/auth/change-password", {
      token: t2,
      body: { oldPassword: "viewer-secret-2", newPassword: "viewer123" },
    });
    const text = readFileSync(file, "utf8");
    for (const secret of [
      "viewer123",
      "trader123",
      "viewer-secret-1",
      "viewer-secret-2",
      "oops-wrong-old",
      ...secrets,
    ]) {
      expect(text).not.toContain(secret);
    }
    // Every line is one JSON object with the documented fields.
    for (const line of lines()) {
      expect(line).toEqual(
        expect.objectContaining({
          log: "audit",
          action: expect.any(String),
          ip: expect.any(String),
          transport: expect.stringMatching(/^(http|ws)$/),
          outcome: expect.stringMatching(/^(ok|refused|failed|unknown)$/),
          durationMs: expect.any(Number),
        }),
      );
    }
  });
});

// A trading desk's session, end to end, through the SDK's BUILT output exactly as an app
// would import it: login, reads, algorithm control, the desk shorthand executed dry and
// for real, a cancel, and typed errors.
import {
  type GatewayClient,
  type RouterOutputs,
  closeGatewayClient,
  createGatewayClient,
  isGatewayError,
  login,
  toGatewayError,
} from "@desk/sdk";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack } from "../src/stack.js";
import { until } from "../src/wait.js";

type Execution = RouterOutputs["instruction"]["status"];

let stack: Stack;
let trader: GatewayClient;
let auditDir: string;
const clients: GatewayClient[] = [];

function clientFor(token: string): GatewayClient {
  const client = createGatewayClient({
    url: stack.url,
    token,
    reconnect: { baseMs: 100, maxMs: 1_000, jitterMs: 200 },
  });
  clients.push(client);
  return client;
}

beforeAll(async () => {
  auditDir = mkdtempSync(join(tmpdir(), "desk-audit-"));
  stack = await startStack({ tickMs: 200, auditLog: join(auditDir, "audit.log") });
  const session = await login(stack.url, "trader1", "trader123");
  trader = clientFor(session.token);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => closeGatewayClient(c)));
  await stack?.close();
  if (auditDir) rmSync(auditDir, { recursive: true, force: true });
});

describe("login", () => {
  it("returns a token and the user", async () => {
    const session = await login(stack.url, "admin", "admin123");
    expect(session.token).toMatch(/^ey/);
    expect(session.user.username).toBe("admin");
    expect(session.permissions.length).toBeGreaterThan(0);
  });

  it("rejects a wrong password as a typed unauthorized error", async () => {
    const err = await login(stack.url, "trader1", "wrong").catch((e: unknown) => e);
    expect(isGatewayError(err, "unauthorized")).toBe(true);
  });

  it("rejects calls without a token as unauthorized", async () => {
    const anonymous = createGatewayClient({ url: stack.url });
    clients.push(anonymous);
    const err = await anonymous.account.list.query().catch(toGatewayError);
    expect(err).toMatchObject({ kind: "unauthorized" });
  });
});

describe("reads", () => {
  it("lists only the trader's accounts, with positions and risk", async () => {
    const accounts = await trader.account.list.query();
    expect(accounts.map((a) => a.id).sort()).toEqual(["account1", "account2"]);

    const positions = await trader.account.positions.query({ accountId: "account1" });
    expect(Array.isArray(positions)).toBe(true);
    for (const p of positions) expect(p.accountId).toBe("account1");

    const risk = await trader.account.riskMetrics.query({ accountId: "account1" });
    expect(risk.accountId).toBe("account1");
    expect(typeof risk.cashDelta).toBe("number");
  });

  it("refuses another desk's account as forbidden", async () => {
    const err = await trader.account.positions.query({ accountId: "account3" }).catch(toGatewayError);
    expect(err).toMatchObject({ kind: "forbidden" });
  });

  it("reports bad input as validation", async () => {
    const err = await trader.account.get.query({ accountId: "" }).catch(toGatewayError);
    expect(err).toMatchObject({ kind: "validation" });
  });
});

describe("algorithms", () => {
  it("controls an algorithm and sees its progress event", async () => {
    const algorithms = await trader.algorithm.list.query();
    const algo = algorithms.find((a) => a.status === "running") ?? algorithms.find((a) => a.status === "paused");
    if (!algo)
      throw new Error(
        `no running or paused algorithm among ${algorithms.map((a) => `${a.id}:${a.status}`).join(", ")}`,
      );
    const command = algo.status === "running" ? "pause" : "resume";
    const expected = algo.status === "running" ? "paused" : "running";

    const events: RouterOutputs["algorithm"]["get"][] = [];
    let subscribed = false;
    const sub = trader.algorithm.onProgress.subscribe(
      { algorithmIds: [algo.id] },
      {
        onStarted: () => {
          subscribed = true;
        },
        onData: (e) => events.push(e.data.algorithm),
      },
    );
    try {
      await until(() => subscribed, "the subscription to start");
      const after = await trader.algorithm.command.mutate({ algorithmId: algo.id, command });
      expect(after.status).toBe(expected);
      await until(
        () => events.some((e) => e.id === algo.id && e.status === expected),
        `an algorithm event with status ${expected}`,
      );
    } finally {
      sub.unsubscribe();
    }
  });
});

describe("instructions", () => {
  const text = "双卖 500 当月 万1 的v";

  async function parse() {
    const parsed = await trader.instruction.parse.mutate({ text, accounts: ["account1"] });
    expect(parsed.instructions.length).toBeGreaterThan(0);
    return parsed;
  }

  it("parses the desk shorthand, previews it as a dry run, then executes it to completion with live updates", async () => {
    const parsed = await parse();
    expect(parsed.instructions[0]).toMatchObject({ type: "straddle" });

    const preview = await trader.instruction.execute.mutate({
      instructions: parsed.instructions,
      accounts: ["account1"],
      dryRun: true,
    });
    expect(preview.dryRun).toBe(true);
    expect(preview.legs.length).toBeGreaterThanOrEqual(2);

    const updates: Execution[] = [];
    let failure: unknown;
    const sub = trader.instruction.executeLive.subscribe(
      { instructions: parsed.instructions, accounts: ["account1"], dryRun: false },
      {
        onData: (e) => updates.push(e.data),
        onError: (err) => {
          failure = err;
        },
      },
    );
    try {
      await until(
        () => failure !== undefined || updates.some((u) => u.status === "completed"),
        "the execution to complete",
        45_000,
      );
      expect(failure).toBeUndefined();
      const last = updates.at(-1);
      expect(last?.status).toBe("completed");
      expect(last?.dryRun).toBe(false);
      expect(updates.length).toBeGreaterThan(1);
      for (const leg of last?.legs ?? []) expect(leg.filledQuantity).toBe(leg.targetQuantity);
      // Progress only moves forward.
      const progress = updates.map((u) => u.progress);
      expect([...progress].sort((a, b) => a - b)).toEqual(progress);
    } finally {
      sub.unsubscribe();
    }
  });

  it("cancels another execution mid-way", async () => {
    const parsed = await parse();
    const started = await trader.instruction.execute.mutate({
      instructions: parsed.instructions,
      accounts: ["account1", "account2"],
    });
    expect(["pending", "running"]).toContain(started.status);

    const updates: Execution[] = [];
    const sub = trader.instruction.onExecution.subscribe(
      { executionId: started.id },
      { onData: (e) => updates.push(e.data) },
    );
    try {
      const cancelled = await trader.instruction.cancel.mutate({ executionId: started.id });
      expect(["cancelled"]).toContain(cancelled.status);
      await until(() => updates.some((u) => u.status === "cancelled"), "a cancelled event");
      const status = await trader.instruction.status.query({ executionId: started.id });
      expect(status.status).toBe("cancelled");
      expect(status.progress).toBeLessThan(1);
    } finally {
      sub.unsubscribe();
    }
  });

  it("does not let a viewer execute", async () => {
    const viewer = clientFor((await login(stack.url, "viewer1", "viewer123")).token);
    const parsed = await parse();
    const err = await viewer.instruction.execute
      .mutate({ instructions: parsed.instructions, accounts: ["account1"], dryRun: false })
      .catch(toGatewayError);
    expect(err).toMatchObject({ kind: "forbidden" });
  });
});

describe("the audit trail of this session", () => {
  it("holds one line per write made above, and nothing for the reads", () => {
    const lines = readFileSync(join(auditDir, "audit.log"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { action: string; username?: string; outcome: string; code?: string });
    const summary = lines.map((l) => `${l.action} ${l.username ?? "-"} ${l.outcome}${l.code ? ` ${l.code}` : ""}`);
    expect(summary).toEqual([
      "auth.login trader1 ok", // beforeAll
      "auth.login admin ok",
      "auth.login trader1 failed UNAUTHORIZED",
      "algorithm.command trader1 ok",
      "instruction.execute trader1 ok", // the dry run
      "instruction.executeLive trader1 ok",
      "instruction.execute trader1 ok", // the one cancelled
      "instruction.cancel trader1 ok",
      "auth.login viewer1 ok",
      "instruction.execute viewer1 refused FORBIDDEN",
    ]);
  });
});

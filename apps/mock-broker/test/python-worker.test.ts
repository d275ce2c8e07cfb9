import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { type MethodName, readReply, type ServiceName } from "@desk/contracts";
import { MdpBroker, MdpClient } from "@desk/mdp";
import { dumps, loads } from "@desk/pickle";
import { pythonForSuite } from "@desk/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "./helpers.js";

/**
 * python-scripts/reference_worker.py (pyzmq + CPython pickle) behind OUR broker,
 * called by OUR client: the gateway's side of the wire works with a Python
 * worker, and the worker's canned shapes pass the contracts.
 */
const script = fileURLToPath(new URL("../../../python-scripts/reference_worker.py", import.meta.url));

// jsonschema too: without it the worker validates nothing, and the suite would pass without proving the shapes.
const python = pythonForSuite("mock-broker python worker", ["zmq", "jsonschema"]);

describe.skipIf(python === undefined)("python reference worker through our broker", () => {
  const SERVICES: ServiceName[] = ["auth_service", "account_service", "algorithm_service", "instruction_service"];
  let broker: MdpBroker;
  let client: MdpClient;
  let child: ChildProcess;
  let banner = "";

  beforeAll(async () => {
    broker = new MdpBroker({ heartbeatInterval: 200 });
    const url = await broker.bind("tcp://127.0.0.1:*");
    child = spawn(python as string, [script, url, ...SERVICES, "--heartbeat", "200", "--reconnect", "200"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout?.on("data", (d: Buffer) => {
      banner += d.toString();
    });
    child.stderr?.on("data", () => {}); // per-call audit lines; drained so the pipe never fills
    await waitFor(
      () => SERVICES.every((s) => broker.stats().services[s]?.workers === 1),
      "python workers registered",
      20_000,
    );
    client = new MdpClient({ endpoints: url, timeout: 5000, retries: 2, idPrefix: "py-test" });
  });

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await client?.close();
    await broker?.close();
  });

  async function call(service: ServiceName, method: string, args: unknown[]): Promise<unknown> {
    const requestId = client.nextRequestId();
    return loads(
      await client.request(service, dumps([method, args, { _ctx: { userId: "user-test", requestId } }]), { requestId }),
    );
  }

  async function ok<S extends ServiceName, M extends MethodName<S>>(service: S, method: M, args: unknown[]) {
    const out = readReply(service, method, await call(service, method, args));
    if (!out.ok) throw new Error(`${service}.${method}: ${out.error.code}: ${out.error.message}`);
    return out.result;
  }

  it("answers a method of each of the four services in shapes the contracts accept", async () => {
    const auth = await ok("auth_service", "authenticate", ["admin", "admin123"]);
    expect(auth.user.id).toBe("py-admin");
    expect((await ok("auth_service", "verify_user", ["nobody"])).exists).toBe(false);
    expect((await ok("account_service", "get_accounts", [])).map((a) => a.id)).toEqual(["account1"]);
    expect((await ok("account_service", "get_positions", ["account1"]))[0]!.multiplier).toBe(10000);
    expect((await ok("algorithm_service", "get_algorithms", []))[0]!.kind).toBe("TWAP");
    expect((await ok("instruction_service", "get_execution_status", ["exec-py-1"])).status).toBe("completed");
  });

  it("answers errors in the <CODE>: message form", async () => {
    const missing = readReply(
      "account_service",
      "get_account",
      await call("account_service", "get_account", ["account9"]),
    );
    expect(missing).toEqual({ ok: false, error: { code: "NOT_FOUND", message: "no account account9" } });
    const unknown = readReply(
      "instruction_service",
      "cancel_execution",
      await call("instruction_service", "cancel_execution", ["x"]),
    );
    expect(!unknown.ok && unknown.error.code).toBe("NOT_FOUND");
    const badLogin = readReply(
      "auth_service",
      "authenticate",
      await call("auth_service", "authenticate", ["admin", "wrong"]),
    );
    expect(!badLogin.ok && badLogin.error.code).toBe("UNAUTHENTICATED");
    const garbage = loads(await client.request("auth_service", Buffer.from("garbage"))) as [boolean, string];
    expect(garbage[0]).toBe(false);
    expect(garbage[1]).toMatch(/^INVALID_ARGUMENT: cannot decode request/);
  });

  it("keeps a token version that a password change moves", async () => {
    const before = await ok("auth_service", "get_user_permissions", ["py-admin"]);
    expect(before.tokenVersion).toBe((await ok("auth_service", "authenticate", ["admin", "admin123"])).tokenVersion);
    await ok("auth_service", "change_password", ["py-admin", "admin123", "admin456"]);
    const after = await ok("auth_service", "get_user_permissions", ["py-admin"]);
    expect(after.tokenVersion).toBe((before.tokenVersion ?? 0) + 1);
    await ok("auth_service", "change_password", ["py-admin", "admin456", "admin123"]);
  });

  it("refuses a repeated account through the schema's uniqueItems", async () => {
    const out = readReply(
      "instruction_service",
      "parse_instructions",
      await call("instruction_service", "parse_instructions", ["双卖 500 当月 万1 的v", ["account1", "account1"]]),
    );
    expect(!out.ok && out.error.code).toBe("INVALID_ARGUMENT");
    expect(!out.ok && out.error.message).toMatch(/non-unique|unique/);
  });

  it("validates args with the generated JSON Schema", async () => {
    await waitFor(() => banner.includes("ready"), "ready banner");
    expect(banner).toContain("ready jsonschema");
    const out = readReply("account_service", "get_account", await call("account_service", "get_account", [42]));
    expect(out.ok).toBe(false);
    expect(!out.ok && out.error.code).toBe("INVALID_ARGUMENT");
    expect(!out.ok && out.error.message).toContain("get_account: args.0");
  });
});

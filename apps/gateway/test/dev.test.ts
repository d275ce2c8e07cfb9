// scripts/dev.mjs (`pnpm dev`): a refused configuration ends it with the gateway's exit
// code instead of leaving a watcher running, and Ctrl-C is one clean shutdown with exit 0,
// even when the same SIGINT reaches it twice (from the terminal, and relayed by pnpm).
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { freePort, type NodeProcess, runNode, waitFor } from "@desk/testkit";
import { type FakeBackend, startFakeBackend } from "./helpers/fake-backend.js";
import { TEST_SECRET } from "./helpers/stack.js";

const packageDir = fileURLToPath(new URL("..", import.meta.url));
const started: NodeProcess[] = [];
let backend: FakeBackend | undefined;

afterEach(async () => {
  for (const p of started.splice(0)) if (p.child.exitCode === null) p.child.kill("SIGKILL");
  await backend?.close();
  backend = undefined;
});

function dev(env: Record<string, string>): NodeProcess {
  const p = runNode(["scripts/dev.mjs"], { HOST: "127.0.0.1", LOG_LEVEL: "info", ...env }, { cwd: packageDir });
  started.push(p);
  return p;
}

describe("pnpm dev (scripts/dev.mjs)", () => {
  it("ends with the gateway's exit code when the gateway refuses its configuration", async () => {
    const p = dev({ PORT: "abc" });
    expect(await p.exited).toBe(1);
    expect(p.out.stderr).toContain('Invalid PORT="abc"');
    expect(p.out.stderr).toContain("before any change was made; dev ends");
  });

  it("stops the gateway once on Ctrl-C, lets the call in flight finish, and exits 0", async () => {
    backend = await startFakeBackend();
    // A login that stays in flight until the test lets it go: the gateway is still
    // draining when the relayed copy of the SIGINT arrives.
    let arrived = false;
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const authenticate = backend.handlers.auth_service!.authenticate!;
    backend.handlers.auth_service!.authenticate = async (args, kwargs) => {
      arrived = true;
      await held;
      return authenticate(args, kwargs);
    };
    const p = dev({
      PORT: String(await freePort()),
      USE_MOCK_ZMQ: "false",
      JWT_SECRET: TEST_SECRET,
      ZMQ_BROKER_URL: backend.brokerUrl,
      ZMQ_PUB_URL: backend.pubUrl,
    });
    await waitFor(
      () => p.out.stdout.includes("gateway listening") || p.child.exitCode !== null,
      "the gateway to listen under dev",
      60_000,
    );
    const url = /"url":"(http:[^"]+)"/.exec(p.out.stdout)?.[1] ?? "";
    const login = fetch(`${url}/api/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "trader1", password: "trader123" }),
    });
    await waitFor(() => arrived, "the login to reach the backend");

    p.child.kill("SIGINT");
    await waitFor(() => p.out.stdout.includes("waiting for requests in flight"), "the gateway to drain");
    p.child.kill("SIGINT");
    await waitFor(() => /dev: SIGINT (relayed )?again/.test(p.out.stderr), "dev to see the repeat");
    release();

    expect((await login).status).toBe(200);
    expect(await p.exited).toBe(0);
    expect(p.out.stdout).toContain("gateway closed");
    expect(p.out.stderr).not.toContain("again, exiting now");
    await expect(fetch(`${url}/health`)).rejects.toThrow();
  });
});

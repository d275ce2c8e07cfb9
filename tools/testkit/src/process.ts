import { type ChildProcess, spawn } from "node:child_process";
import { createServer, type AddressInfo } from "node:net";

/**
 * A port the OS just handed out and released: for the rare test that must give a
 * process a port up front (a restart on the same port, a URL in its environment).
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface NodeProcess {
  child: ChildProcess;
  /** Everything it has printed so far. */
  out: { stdout: string; stderr: string };
  /** Its exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

/**
 * `node <args>` with `env` on top of a minimal PATH (so the test, not the machine,
 * decides the configuration), output collected. The caller kills it in afterEach.
 */
export function runNode(args: readonly string[], env: Record<string, string>, o: { cwd?: string } = {}): NodeProcess {
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH ?? "", ...env },
    cwd: o.cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const out = { stdout: "", stderr: "" };
  child.stdout?.on("data", (d: Buffer) => {
    out.stdout += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    out.stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, out, exited };
}

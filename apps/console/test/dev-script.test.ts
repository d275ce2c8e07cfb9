// scripts/dev.mjs (the console's `pnpm dev`): Vite's dev server comes up and Ctrl-C
// closes it with exit 0, also when the same SIGINT arrives twice (terminal + pnpm relay);
// the bare `vite` CLI dies of SIGINT (exit 130) and pnpm reports ELIFECYCLE.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { freePort } from "@desk/testkit";
import { expect, it } from "vitest";

const packageDir = fileURLToPath(new URL("..", import.meta.url));

it("serves, then exits 0 on Ctrl-C delivered twice", async () => {
  const port = await freePort();
  const child = spawn(process.execPath, ["scripts/dev.mjs"], {
    cwd: packageDir,
    env: { PATH: process.env.PATH ?? "", CONSOLE_PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  try {
    await new Promise<void>((resolve, reject) => {
      const check = () => (output.includes(`127.0.0.1:${port}`) ? resolve() : undefined);
      child.stdout.on("data", check);
      child.once("exit", () => reject(new Error(`dev exited before serving:\n${output}`)));
    });
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(200);
    child.kill("SIGINT");
    child.kill("SIGINT");
    expect(await exited).toBe(0);
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
  }
});

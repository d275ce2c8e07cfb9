// `pnpm dev`: rebuild on change (tsup, this package's config) and restart the gateway.
//
// Unlike `tsup --watch --onSuccess "node dist/main.js"`, this ends when the gateway does
// not come up: the first start reads the environment, so if that start exits (a refused
// variable, a port in use) nothing a rebuild does can fix it, and `pnpm dev` exits with
// the gateway's code instead of watching forever. A crash after a later rebuild is a code
// change to fix: it keeps watching. Ctrl-C (or SIGTERM) is passed to the gateway once, it
// shuts down cleanly, and this exits with the gateway's code (0 for a clean shutdown).
// The scripts that lead here say `exec` so that no shell sits between pnpm and this
// process: pnpm waits for its child on Ctrl-C, a shell in between is killed at once and
// pnpm reports ELIFECYCLE.
//
// Plain JavaScript: node runs it directly, with no loader process in between to relay signals.
import { spawn } from "node:child_process";
import { build } from "tsup";

let gateway;
let starts = 0;
let stopping = false;

function startGateway() {
  starts += 1;
  const firstStart = starts === 1;
  // Its own process group: a terminal's Ctrl-C reaches this process, which passes it on
  // exactly once (the gateway takes a second SIGINT as "exit now, skip the clean-up").
  const child = spawn(process.execPath, ["dist/main.js"], { stdio: "inherit", detached: true });
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  gateway = { child, exited, replaced: false };
  const current = gateway;
  exited.then(({ code, signal }) => {
    if (stopping || current.replaced) return;
    if (firstStart) {
      process.stderr.write(`dev: the gateway exited (${code ?? signal}) before any change was made; dev ends\n`);
      process.exit(code || 1);
    }
    process.stderr.write(`dev: the gateway exited (${code ?? signal}); waiting for changes\n`);
  });
  // Called by tsup before the next rebuild.
  return async () => {
    current.replaced = true;
    if (current.child.exitCode === null && current.child.signalCode === null) current.child.kill("SIGTERM");
    await current.exited;
  };
}

// One Ctrl-C can arrive more than once (from the terminal, and relayed by pnpm and turbo):
// repeats within this window are the same request; a later one means "now".
const REPEAT_WINDOW_MS = 1_000;
let stopRequestedAt = 0;

function stop(signal) {
  if (!gateway || gateway.child.exitCode !== null || gateway.child.signalCode !== null) process.exit(0);
  if (!stopping) {
    stopping = true;
    stopRequestedAt = Date.now();
    process.stderr.write(`dev: ${signal}: stopping the gateway\n`);
    gateway.child.kill(signal);
    gateway.exited.then(({ code }) => process.exit(code ?? 0));
  } else if (Date.now() - stopRequestedAt < REPEAT_WINDOW_MS) {
    process.stderr.write(`dev: ${signal} relayed again, ignored: the gateway is stopping\n`);
  } else {
    process.stderr.write(`dev: ${signal} again: the gateway stops now, without finishing calls in flight\n`);
    gateway.child.kill(signal);
  }
}

process.on("SIGINT", () => stop("SIGINT"));
process.on("SIGTERM", () => stop("SIGTERM"));
// Never leave a gateway behind, whatever ends this process.
process.on("exit", () => {
  if (gateway && gateway.child.exitCode === null && gateway.child.signalCode === null) gateway.child.kill("SIGKILL");
});

// No declarations and no clean in dev: running the gateway needs neither, the rebuild is
// seconds faster, and dist/index.d.ts (which the SDK's types are built from) is never
// left deleted or half-written by an interrupted dev session. `pnpm build` makes them.
await build({ watch: ["src"], dts: false, clean: false, onSuccess: async () => startGateway() });

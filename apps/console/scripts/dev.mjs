// `pnpm dev` for the console: Vite's dev server, stopped cleanly on Ctrl-C. The `vite`
// CLI closes on SIGTERM but dies of SIGINT (exit 130), which pnpm reports as ELIFECYCLE;
// here both close the server and exit 0. The same Ctrl-C can arrive twice (from the
// terminal, and relayed by pnpm and turbo), so repeats are ignored rather than left to
// Node's default, which would kill the process mid-close.
import { createServer } from "vite";

const server = await createServer();
await server.listen();
server.printUrls();
// Vite's keyboard shortcuts (r, o, q, ...) when run in a terminal, as the CLI has them.
server.bindCLIShortcuts({ print: true });

let closing = false;
function stop() {
  if (closing) return;
  closing = true;
  server.close().then(
    () => process.exit(0),
    (err) => {
      process.stderr.write(`console dev: error while closing: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);

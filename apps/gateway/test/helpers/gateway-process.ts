import { fileURLToPath } from "node:url";
import { type NodeProcess, runNode, waitFor } from "@desk/testkit";
import { TEST_SECRET } from "./stack.js";

const mainJs = fileURLToPath(new URL("../../dist/main.js", import.meta.url));

/** The URL a gateway started with PORT=0 logged in its "gateway listening" line. */
export function listeningUrl(p: NodeProcess): string {
  const url = /"url":"(http:[^"]+)"[^\n]*"gateway listening"/.exec(p.out.stdout)?.[1];
  if (url === undefined) throw new Error(`no "gateway listening" line with a url in: ${p.out.stdout}`);
  return url;
}

export interface GatewayProcess extends NodeProcess {
  url: string;
  wsUrl: string;
}

/**
 * `node dist/main.js` on an OS-chosen port (PORT=0), in real mode against `brokerUrl`,
 * once it listens. `track` gets the process at once, so the caller's afterEach kills it
 * even when the start fails.
 */
export async function startGatewayProcess(
  env: Record<string, string>,
  track: (p: NodeProcess) => void,
): Promise<GatewayProcess> {
  const p = runNode([mainJs], {
    PORT: "0",
    HOST: "127.0.0.1",
    USE_MOCK_ZMQ: "false",
    JWT_SECRET: TEST_SECRET,
    LOG_LEVEL: "info",
    ...env,
  });
  track(p);
  await waitFor(
    () => p.out.stdout.includes("gateway listening") || p.child.exitCode !== null,
    "the gateway process to listen",
    30_000,
  );
  if (p.child.exitCode !== null) throw new Error(`the gateway exited (${p.child.exitCode}): ${p.out.stderr}`);
  const url = listeningUrl(p);
  return Object.assign(p, { url, wsUrl: `${url.replace(/^http/, "ws")}/trpc` });
}

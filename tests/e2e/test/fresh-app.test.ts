// What a new user of the SDK does, outside this repository: `pnpm pack` the SDK, install
// the tarball into a fresh project with npm (every other package from the registry),
// typecheck a call and a subscription in a browser tsconfig (lib DOM + ES2022, no
// @types/node, skipLibCheck off), see a wrong input rejected, bundle with Vite and look
// inside the bundle; then, in Node 20, run the same session against a real gateway
// through the ESM and the CommonJS entry. Prints the sizes a user would care about.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { command, type FreshApp, folderBytes, freshApp, installedTree } from "../src/fresh-app.js";
import { type Stack, startStack } from "../src/stack.js";

// Exact versions: Vite 6 runs on every Node 20 (Vite 7 and 8 need 20.19+), with npm 10 or 11.
const TYPESCRIPT = "typescript@5.9.3";
const VITE = "vite@6.4.6";
const TYPES_NODE = "@types/node@20.19.43";
const WS = "ws@8.23.0";

/** Packages a browser app must never get from the SDK. */
const SERVER_PACKAGES = [
  "@desk/gateway",
  "@desk/contracts",
  "@desk/mdp",
  "@desk/pickle",
  "zeromq",
  "pino",
  "prom-client",
];

let app: FreshApp;
let stack: Stack | undefined;
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

beforeAll(async () => {
  app = await freshApp();
  await app.npmInstall([app.tarball, TYPESCRIPT, VITE]);
}, 240_000);

afterAll(async () => {
  await stack?.close();
  app?.remove();
});

describe("the SDK in a fresh project (npm, from the packed tarball)", () => {
  it("installs alone: its dependencies and peers only, no server package", async () => {
    const sdkTree = await installedTree(app.dir, "@desk/sdk");
    const names = new Set(sdkTree.map((p) => p.name));
    for (const name of SERVER_PACKAGES) {
      expect(names.has(name), name).toBe(false);
      expect(existsSync(path.join(app.dir, "node_modules", name)), name).toBe(false);
    }
    // tRPC's own packages take typescript as a peer: the app's copy, not one of ours.
    const own = sdkTree.filter((p) => p.name !== "typescript");
    expect(new Set(own.map((p) => p.name))).toEqual(
      new Set(["@desk/sdk", "@trpc/client", "@trpc/server", "superjson", "copy-anything", "zod"]),
    );
    const manifest = JSON.parse(readFileSync(path.join(app.dir, "node_modules/@desk/sdk/package.json"), "utf8"));
    expect(manifest.private).toBeUndefined();
    expect(JSON.stringify(manifest)).not.toContain("@desk/gateway");
    console.log(
      `tarball ${kb(statSync(app.tarball).size)}; installed for the SDK: ${own.length} packages, ` +
        `${kb(own.reduce((sum, p) => sum + folderBytes(p.dir), 0))} (${own.map((p) => `${p.name}@${p.version}`).join(", ")})`,
    );
  });

  it("typechecks a call and a subscription under a browser tsconfig (DOM, ES2022, no @types/node, skipLibCheck off)", async () => {
    // Only meaningful while nothing in the project could supply Node's types.
    expect(existsSync(path.join(app.dir, "node_modules/@types/node"))).toBe(false);
    const tsc = await app.node(["node_modules/typescript/bin/tsc", "-p", "tsconfig.browser.json"]);
    expect(tsc.stdout + tsc.stderr).toBe("");
    expect(tsc.code).toBe(0);
  });

  it("rejects a wrong input to a query and to a subscription at compile time", async () => {
    const tsc = await app.node(["node_modules/typescript/bin/tsc", "-p", "tsconfig.wrong.json"]);
    expect(tsc.code).not.toBe(0);
    const errors = tsc.stdout.split("\n").filter((line) => line.includes("error TS"));
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/wrong-input\.ts\(6,.*TS2322: Type 'number' is not assignable to type 'string'/);
    expect(errors[1]).toMatch(/wrong-input\.ts\(8,.*TS2769: No overload matches this call/);
    expect(tsc.stdout).toContain("Type 'string' is not assignable to type 'string[]'");
  });

  it("bundles with Vite for the browser with no server code, no Node built-in and no ws", async () => {
    const build = await app.node(["node_modules/vite/bin/vite.js", "build", "--logLevel", "warn"]);
    expect(build.code, build.stdout + build.stderr).toBe(0);
    const assets = path.join(app.dir, "dist/assets");
    const scripts = readdirSync(assets).filter((name) => name.endsWith(".js"));
    const code = scripts.map((name) => readFileSync(path.join(assets, name), "utf8")).join("\n");
    expect(code).toContain("@desk/sdk: this runtime has no WebSocket"); // the SDK itself is in there
    for (const name of ["zeromq", "pino", "prom-client", "@desk/gateway", "node:"]) expect(code).not.toContain(name);
    // The ws package stays out: neither its client (handshake, compression) nor an import of it
    // left for the browser to fail on. The SDK's package.json maps it to nothing.
    expect(code).not.toMatch(/Sec-WebSocket-Key|permessage-deflate/);
    expect(code).not.toMatch(/import\(\s*["'`]ws["'`]\s*\)|from\s*["']ws["']/);
    const bytes = scripts.reduce((sum, name) => sum + statSync(path.join(assets, name)).size, 0);
    console.log(`Vite bundle: ${kb(bytes)} of JavaScript in ${scripts.length} file(s)`);
  });

  it("bundles with esbuild too, which (unlike Vite) leaves an unmapped optional import in place", async () => {
    // esbuild comes with Vite. Vite stubs a missing optional peer by itself; esbuild and
    // webpack rely on the SDK's package.json "browser" field mapping ws to nothing.
    const out = path.join(app.dir, "esbuild-out.js");
    const esbuild = await command(
      path.join(app.dir, "node_modules/.bin/esbuild"),
      ["src/main.ts", "--bundle", "--platform=browser", "--format=esm", "--minify", `--outfile=${out}`],
      app.dir,
    );
    expect(esbuild.code, esbuild.stderr).toBe(0);
    const code = readFileSync(out, "utf8");
    expect(code).toContain("@desk/sdk: this runtime has no WebSocket");
    expect(code).not.toMatch(/import\(\s*["'`]ws["'`]\s*\)|zeromq|prom-client|node:/);
  });

  it("in Node 20 without the optional ws package, says what to install", async () => {
    await app.npmInstall([TYPES_NODE]);
    const tsc = await app.node(["node_modules/typescript/bin/tsc", "-p", "tsconfig.node.json"]);
    // tRPC 11's client declarations name DOM's RequestInfo, which a Node project without
    // lib DOM lacks: upstream, and the only errors allowed. Nothing in the SDK's
    // declarations or in the app's code may fail.
    const errors = tsc.stdout.split("\n").filter((line) => line.includes("error TS"));
    const upstream = errors.filter((line) =>
      /^node_modules\/@trpc\/client\/.*Cannot find name 'RequestInfo'/.test(line),
    );
    expect(errors.filter((line) => !upstream.includes(line))).toEqual([]);
    if (upstream.length > 0)
      console.log(`tRPC's own declarations under a DOM-less Node tsconfig:\n${upstream.join("\n")}`);
    const run = await app.node(["out/no-websocket.js"]);
    expect(run.stdout).toContain('install the "ws" package, or pass `WebSocket` to createGatewayClient');
  });

  it("carries the Node fix of tRPC's 1 ms flush timer in its own code (a pnpm patch would not travel)", () => {
    for (const entry of ["index.js", "index.cjs"]) {
      const code = readFileSync(path.join(app.dir, "node_modules/@desk/sdk/dist", entry), "utf8");
      // src/immediate-flush.ts, bundled: it replaces the ws client's flushOutgoing.
      expect(code, entry).toContain("client.flushOutgoing = ");
      expect(code, entry).toContain("setImmediate");
    }
  });

  it("runs a session against a real gateway in Node 20 (ws installed), through ESM and CommonJS", async () => {
    await app.npmInstall([WS]);
    stack = await startStack({ tickMs: 100 });
    const esm = await app.node(["out/node.js", stack.url]);
    expect(esm.stderr).toBe("");
    expect(esm.stdout).toMatch(/^accounts 2, positions of account1: \d+$/m);
    expect(esm.stdout).toContain("form check: an order without instructions is rejected");
    expect(esm.stdout).toMatch(/^tick 510500 \d+(\.\d+)?$/m);
    const cjs = await app.node(["out/require.cjs", stack.url]);
    expect(cjs.stderr).toBe("");
    expect(cjs.stdout).toContain("require: accounts 2, ids valid: true");
  });
});

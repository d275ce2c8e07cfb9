// The built output is what apps import: check it carries no server code and loads in
// both module systems. (turbo runs `build` before `test`.)
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";

const dist = new URL("../dist/", import.meta.url);
const read = (file: string) => readFileSync(new URL(file, dist), "utf8");

describe("dist", () => {
  it("has no gateway or server code at run time, only a type import", () => {
    for (const file of ["index.js", "index.cjs"]) {
      const code = read(file);
      expect(code).not.toMatch(/@desk\/gateway|@trpc\/server|zeromq|jose|pino/);
      const imported = [...code.matchAll(/(?:from |require\(|import\()"([^"]+)"/g)].map((m) => m[1]).sort();
      expect(new Set(imported)).toEqual(new Set(["@trpc/client", "superjson", "ws"]));
    }
  });

  it("publishes declarations that stand alone: the router written out, only dependencies and peers imported", () => {
    for (const entry of ["index", "schemas", "events"]) {
      const types = read(`${entry}.d.ts`);
      expect(read(`${entry}.d.cts`)).toBe(types);
      expect(types).not.toMatch(/@desk\/(?!sdk)|NodeJS\.|\bBuffer\b|reference types="node"/);
      const imported = new Set([...types.matchAll(/from '([^']+)'/g)].map((m) => m[1]));
      for (const specifier of imported)
        expect(specifier).toMatch(
          entry === "events" ? /^(socket\.io-client|zod)$/ : /^(@trpc\/(client|server)(\/.*)?|superjson|zod(\/.*)?)$/,
        );
    }
    const index = read("index.d.ts");
    // Procedures, inputs and outputs of the real router, not a reference to it.
    for (const name of ["positions", "executeLive", "onTick", "accountId: string", "clientOrderId?: string"]) {
      expect(index).toContain(name);
    }
  });

  it("schemas: the same zod schemas the gateway validates with, no server code", async () => {
    const code = read("schemas.js");
    expect(code).not.toMatch(/@desk\/|@trpc|zeromq|pino|node:/);
    const imported = new Set([...code.matchAll(/from "([^"]+)"/g)].map((m) => m[1]));
    expect(imported).toEqual(new Set(["zod"]));
    const esm = await import(new URL("schemas.js", dist).href);
    const cjs = createRequire(import.meta.url)("../dist/schemas.cjs");
    expect(Object.keys(cjs).sort()).toEqual(Object.keys(esm).sort());
    expect(esm.AccountId.safeParse("account1").success).toBe(true);
    expect(esm.AccountId.safeParse("").success).toBe(false);
  });

  it("events: connectEvents on socket.io-client (its only import), which no other entry loads", async () => {
    for (const file of ["events.js", "events.cjs"]) {
      const code = read(file);
      const imported = [...code.matchAll(/(?:from |require\()"([^"]+)"/g)].map((m) => m[1]);
      expect(new Set(imported)).toEqual(new Set(["socket.io-client"]));
    }
    for (const file of ["index.js", "index.cjs", "schemas.js", "schemas.cjs"])
      expect(read(file)).not.toMatch(/socket\.io/);
    const esm = await import(new URL("events.js", dist).href);
    const cjs = createRequire(import.meta.url)("../dist/events.cjs");
    expect(Object.keys(esm)).toEqual(["connectEvents"]);
    expect(Object.keys(cjs)).toEqual(["connectEvents"]);
    // The payload types are written out (contracts inlined), the socket typed by them.
    const types = read("events.d.ts");
    for (const name of ['"account:update"', '"instruction:execute"', "dryRun", "interface RealtimeError"]) {
      expect(types).toContain(name);
    }
  });

  it("loads as ESM and as CJS with the same exports", async () => {
    const esm = await import(new URL("index.js", dist).href);
    const cjs = createRequire(import.meta.url)("../dist/index.cjs");
    const names = [
      "closeGatewayClient",
      "createGatewayClient",
      "createSession",
      "GatewayError",
      "isGatewayError",
      "login",
      "newClientOrderId",
      "reconnectDelay",
      "toGatewayError",
    ];
    expect(Object.keys(esm).sort()).toEqual(names.sort());
    expect(Object.keys(cjs).sort()).toEqual(names.sort());
  });
});

describe("browser bundle", () => {
  it("bundles for the browser without the ws package (package.json maps it to nothing)", async () => {
    const { build } = await import("esbuild");
    const out = await build({
      stdin: {
        contents: 'export { createGatewayClient, login } from "@desk/sdk";',
        resolveDir: new URL("..", import.meta.url).pathname,
      },
      bundle: true,
      platform: "browser",
      format: "esm",
      write: false,
      logLevel: "silent",
    });
    const code = out.outputFiles[0]?.text ?? "";
    expect(code).toContain("createGatewayClient");
    expect(code).not.toMatch(/permessage-deflate|node:http|require\("net"\)/);
  });
});

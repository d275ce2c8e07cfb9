// scripts/bundle-types.ts on small routers: one that is browser-safe (its declarations
// come out whole and self-contained) and three that leak a Node-only type into the
// router's type, each of which must stop the build with the offending line.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { bundleTypes, TypeBundleError } from "../scripts/bundle-types.js";

const fixturesRoot = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", ".fixtures");
const made: string[] = [];

afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});
afterAll(() => rmSync(fixturesRoot, { recursive: true, force: true }));

/** A package under packages/sdk (so it resolves the SDK's node_modules) whose server.ts builds `router`. */
function fixturePackage(server: string): string {
  mkdirSync(fixturesRoot, { recursive: true });
  const dir = mkdtempSync(path.join(fixturesRoot, "router-"));
  made.push(dir);
  mkdirSync(path.join(dir, "src"));
  writeFileSync(
    path.join(dir, "tsconfig.json"),
    JSON.stringify({ extends: "@desk/tooling/tsconfig.base.json", include: ["src"] }),
  );
  writeFileSync(path.join(dir, "src", "router.ts"), 'export type { AppRouter } from "./server.js";\n');
  writeFileSync(path.join(dir, "src", "index.ts"), 'export type { AppRouter } from "./router.js";\n');
  writeFileSync(
    path.join(dir, "src", "server.ts"),
    `import { initTRPC } from "@trpc/server";
import { z } from "zod";
${server}
export type AppRouter = typeof router;
`,
  );
  return dir;
}

const build = (dir: string) => bundleTypes({ packageDir: dir, entries: ["index"] });

describe("bundle-types", () => {
  it("writes a browser-safe router out in full, with only tRPC and zod imports", async () => {
    const dir = fixturePackage(`
export interface Context { token: string | null }
const t = initTRPC.context<Context>().create();
const router = t.router({
  account: t.router({
    positions: t.procedure.input(z.object({ accountId: z.string().min(1) })).query(() => [{ code: "10004567", quantity: -3 }]),
  }),
  onTick: t.procedure.subscription(async function* () { yield { last: 6.1 }; }),
});`);
    const written = await build(dir);
    const code = written.get(path.join(dir, "dist", "index.d.ts")) ?? "";
    expect(code).toContain("positions");
    expect(code).toContain("accountId: string");
    expect(code).toContain("quantity: number");
    expect(code).toContain("interface Context");
    // Named, so an app's own declarations can refer to it (TS4023 otherwise).
    expect(code).toMatch(/export type \{[^}]*\bContext\b[^}]*\}/);
    const imports = [...code.matchAll(/from '([^']+)'/g)].map((m) => m[1]);
    expect(imports.every((m) => m?.startsWith("@trpc/server"))).toBe(true);
    expect(readFileSync(path.join(dir, "dist", "index.d.cts"), "utf8")).toBe(code);
  });

  it("refuses a context type that is not exported, and says so", async () => {
    const dir = fixturePackage(`
interface Context { token: string | null }
const t = initTRPC.context<Context>().create();
const router = t.router({ ping: t.procedure.query(() => "pong") });`);
    await expect(build(dir)).rejects.toThrow(/must be exported where it is declared/);
  });

  it("refuses a context that carries a Node request (node:http)", async () => {
    const dir = fixturePackage(`
import type { IncomingMessage } from "node:http";
const t = initTRPC.context<{ req: IncomingMessage }>().create();
const router = t.router({ ping: t.procedure.query(() => "pong") });`);
    await expect(build(dir)).rejects.toThrow(/imports Node's built-in module (node:)?http/);
  });

  it("refuses an output that is a Buffer", async () => {
    const dir = fixturePackage(`
const t = initTRPC.create();
const router = t.router({ raw: t.procedure.query(() => Buffer.from("x")) });`);
    await expect(build(dir)).rejects.toThrow(/uses Buffer \(Node's types\)/);
  });

  it("refuses a server library's type reached through the context (the ws socket)", async () => {
    const dir = fixturePackage(`
import type { WebSocket } from "ws";
const t = initTRPC.context<{ socket: WebSocket | null }>().create();
const router = t.router({ ping: t.procedure.query(() => "pong") });`);
    const failure = build(dir);
    await expect(failure).rejects.toBeInstanceOf(TypeBundleError);
    await expect(failure).rejects.toThrow(/imports Node's built-in module/);
  });
});

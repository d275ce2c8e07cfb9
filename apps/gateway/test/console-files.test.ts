import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/index.js";
import { startStack } from "./helpers/stack.js";

/** A raw request: fetch would normalise "/../" away before sending it. */
function raw(url: string, path: string, o: { method?: string; headers?: Record<string, string> } = {}) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
    const req = http.request(`${url}${path}`, { method: o.method ?? "GET", headers: o.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.setHeader("connection", "close");
    // Keep the path exactly as written (no URL normalisation).
    req.path = path;
    req.end();
  });
}

describe("the console's built files at /", () => {
  let dir: string;
  let stack: Awaited<ReturnType<typeof startStack>>;
  let url: string;
  const script = "console.log('desk console');".repeat(50);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "console-dist-"));
    await mkdir(join(dir, "assets"));
    await writeFile(join(dir, "index.html"), "<!doctype html><title>Desk console</title>");
    await writeFile(join(dir, "assets", "index-Ab12.js"), script);
    await writeFile(join(dir, "assets", "index-Ab12.js.gz"), gzipSync(script));
    await writeFile(join(dir, ".env"), "SECRET=1");
    stack = await startStack({ consoleDir: dir });
    url = stack.gateway.url;
  });

  afterAll(async () => {
    await stack?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("serves index.html at / with a strict CSP and revalidation", async () => {
    const r = await raw(url, "/");
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("text/html;charset=utf-8");
    expect(r.body.toString()).toContain("<title>Desk console</title>");
    expect(r.headers["cache-control"]).toBe("no-cache");
    expect(r.headers["content-security-policy"]).toContain("default-src 'self'");
    expect(r.headers["content-security-policy"]).toContain("connect-src 'self'");
    expect(r.headers["x-frame-options"]).toBe("DENY");
    const head = await raw(url, "/", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
  });

  it("serves hashed assets as immutable, precompressed when the client accepts it", async () => {
    const plain = await raw(url, "/assets/index-Ab12.js");
    expect(plain.status).toBe(200);
    expect(plain.headers["content-type"]).toBe("text/javascript");
    expect(plain.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(plain.body.toString()).toBe(script);
    const gzipped = await raw(url, "/assets/index-Ab12.js", { headers: { "accept-encoding": "gzip" } });
    expect(gzipped.headers["content-encoding"]).toBe("gzip");
    expect(gzipped.body.length).toBeLessThan(script.length / 5);
    const again = await raw(url, "/assets/index-Ab12.js", { headers: { "if-none-match": String(plain.headers.etag) } });
    expect(again.status).toBe(304);
  });

  it("never reaches outside the directory, nor dotfiles, and leaves the API routes alone", async () => {
    for (const path of [
      "/../package.json",
      "/%2e%2e/package.json",
      "/assets/../../package.json",
      "/.env",
      "/nope.js",
    ]) {
      const r = await raw(url, path);
      expect(r.status, path).toBe(404);
      expect(r.body.toString(), path).not.toContain("SECRET");
      expect(JSON.parse(r.body.toString()).code, path).toBe("NOT_FOUND");
    }
    expect((await raw(url, "/", { method: "POST" })).status).toBe(404);
    const health = await raw(url, "/health");
    expect(health.headers["content-type"]).toContain("application/json");
    expect((await raw(url, "/api/v1/openapi.json")).status).toBe(200);
  });
});

describe("CONSOLE_DIR", () => {
  it("takes a built console, or off; a directory without index.html stops the start", async () => {
    const dir = await mkdtemp(join(tmpdir(), "console-dir-"));
    try {
      expect(() => loadConfig({ CONSOLE_DIR: dir })).toThrow(ConfigError);
      expect(() => loadConfig({ CONSOLE_DIR: dir })).toThrow(/CONSOLE_DIR/);
      await writeFile(join(dir, "index.html"), "<!doctype html>");
      expect(loadConfig({ CONSOLE_DIR: dir }).consoleDir).toBe(dir);
      expect(loadConfig({ CONSOLE_DIR: "off" }).consoleDir).toBeNull();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("serves nothing at / without a console", async () => {
    const stack = await startStack({ consoleDir: null });
    try {
      const r = await raw(stack.gateway.url, "/");
      expect(r.status).toBe(404);
      expect(JSON.parse(r.body.toString()).message).toBe("No route for GET /");
    } finally {
      await stack.close();
    }
  });
});

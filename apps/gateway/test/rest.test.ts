import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { login, rest, startStack } from "./helpers/stack.js";

interface OpenApiOperation {
  security?: unknown;
  responses: Record<string, unknown>;
}

describe("REST /api/v1 (every query and mutation)", () => {
  let stack: Awaited<ReturnType<typeof startStack>>;
  let url: string;
  let admin: string;
  let trader: string;
  let viewer: string;

  beforeAll(async () => {
    stack = await startStack({ corsOrigins: ["https://desk.example.com"] });
    url = stack.gateway.url;
    admin = await login(url, "admin", "admin123");
    trader = await login(url, "trader1", "trader123");
    viewer = await login(url, "viewer1", "viewer123");
  });
  afterAll(() => stack?.close());

  it("logs in and returns a bearer token with the user and permissions", async () => {
    const r = await rest(url, "POST", "/api/v1/auth/login", { body: { username: "trader1", password: "trader123" } });
    expect(r.status).toBe(200);
    expect(r.body.tokenType).toBe("Bearer");
    expect(r.body.token.split(".")).toHaveLength(3);
    expect(r.body.user.username).toBe("trader1");
    expect(Date.parse(r.body.expiresAt)).toBeGreaterThan(Date.now());
  });

  it("refuses a wrong password with 401 and the backend's message", async () => {
    const r = await rest(url, "POST", "/api/v1/auth/login", { body: { username: "trader1", password: "nope" } });
    expect(r.status).toBe(401);
    expect(r.body.code).toBe("UNAUTHORIZED");
    expect(r.body.message).toBe("wrong username or password");
  });

  it("runs the source document's curl example as written", async () => {
    const res = await fetch(`${url}/api/v1/instructions/parse`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${trader}` },
      body: '{"text": "双卖 500 当月 万1 的v", "accounts": ["account1", "account2"]}',
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { accounts: string[]; instructions: Array<{ type: string; text: string }> };
    expect(body.accounts).toEqual(["account1", "account2"]);
    expect(body.instructions[0]?.type).toBe("straddle");
    expect(body.instructions[0]?.text).toBe("双卖 500 当月 万1 的v");
  });

  it("serves auth routes", async () => {
    const me = await rest(url, "GET", "/api/v1/auth/me", { token: trader });
    expect(me.body).toMatchObject({ username: "trader1", role: "trader", accounts: ["account1", "account2"] });
    const perms = await rest(url, "GET", "/api/v1/auth/permissions", { token: trader });
    expect(perms.body.permissions).toContain("instruction:execute");
    const verify = await rest(url, "GET", "/api/v1/auth/users/u-trader1/verify", { token: trader });
    expect(verify.body).toEqual({ userId: "u-trader1", exists: true, active: true });
    const other = await rest(url, "GET", "/api/v1/auth/users/u-admin/verify", { token: trader });
    expect(other.status).toBe(403);
    const byAdmin = await rest(url, "GET", "/api/v1/auth/permissions?userId=u-trader1", { token: admin });
    expect(byAdmin.body.userId).toBe("u-trader1");
    const badOld = await rest(url, "POST", "/api/v1/auth/change-password", {
      token: trader,
      body: { oldPassword: "wrong", newPassword: "x" },
    });
    expect(badOld.status).toBe(400);
    expect(badOld.body.message).toBe("old password does not match");
    const changed = await rest(url, "POST", "/api/v1/auth/change-password", {
      token: trader,
      body: { oldPassword: "trader123", newPassword: "n3w-pass" },
    });
    expect(changed.body).toEqual({ changed: true });
    // A changed password ends the user's earlier tokens, the one that changed it included.
    const after = await rest(url, "GET", "/api/v1/auth/me", { token: trader });
    expect(after.status).toBe(401);
    expect(after.body.message).toBe("Token revoked: the password was changed");
    trader = await login(url, "trader1", "trader123");
  });

  it("serves account routes, filtered to the caller's accounts", async () => {
    const list = await rest(url, "GET", "/api/v1/accounts", { token: trader });
    expect(list.status).toBe(200);
    expect(list.body.map((a: { id: string }) => a.id)).toEqual(["account1", "account2"]);
    expect((await rest(url, "GET", "/api/v1/accounts", { token: admin })).body).toHaveLength(3);
    expect((await rest(url, "GET", "/api/v1/accounts/account1", { token: trader })).body.id).toBe("account1");
    expect((await rest(url, "GET", "/api/v1/accounts/account3", { token: trader })).status).toBe(403);
    expect((await rest(url, "GET", "/api/v1/accounts/nope", { token: admin })).status).toBe(404);
    const positions = await rest(url, "GET", "/api/v1/accounts/account1/positions", { token: trader });
    expect(positions.body[0].code).toBe("10004567");
    const riskMetrics = await rest(url, "GET", "/api/v1/accounts/account1/risk", { token: trader });
    expect(riskMetrics.body.var99).toBeGreaterThanOrEqual(riskMetrics.body.var95);
    const verified = await rest(url, "GET", "/api/v1/accounts/account2/verify-positions", { token: trader });
    expect(verified.body.matched).toBe(true);
    const disabled = await rest(url, "POST", "/api/v1/accounts/account1/enabled", {
      token: trader,
      body: { enabled: false },
    });
    expect(disabled.body.enabled).toBe(false);
    const byViewer = await rest(url, "POST", "/api/v1/accounts/account1/enabled", {
      token: viewer,
      body: { enabled: true },
    });
    expect(byViewer.status).toBe(403);
  });

  it("serves algorithm routes; a viewer cannot control algorithms", async () => {
    const list = await rest(url, "GET", "/api/v1/algorithms", { token: trader });
    expect(list.body.map((a: { id: string }) => a.id)).toEqual(["algo1"]);
    expect((await rest(url, "GET", "/api/v1/algorithms/algo1", { token: trader })).body.accountId).toBe("account1");
    expect((await rest(url, "GET", "/api/v1/algorithms/algo3", { token: trader })).status).toBe(403);
    const logs = await rest(url, "GET", "/api/v1/algorithms/algo1/logs", { token: viewer });
    expect(logs.body[0].message).toBe("slice 1 sent");
    const paused = await rest(url, "POST", "/api/v1/algorithms/algo1/command", {
      token: trader,
      body: { command: "pause" },
    });
    expect(paused.body.status).toBe("paused");
    const denied = await rest(url, "POST", "/api/v1/algorithms/algo1/command", {
      token: viewer,
      body: { command: "stop" },
    });
    expect(denied.status).toBe(403);
    expect(denied.body.message).toContain("algorithm:control");
  });

  it("serves instruction routes: execute (dry run and real), status, cancel; a viewer cannot execute", async () => {
    const parsed = await rest(url, "POST", "/api/v1/instructions/parse", {
      token: trader,
      body: { text: "双卖 500 当月 万1 的v", accounts: ["account1"] },
    });
    const dry = await rest(url, "POST", "/api/v1/instructions/execute", {
      token: viewer,
      body: { instructions: parsed.body.instructions, accounts: ["account1"], dryRun: true },
    });
    expect(dry.status).toBe(200);
    expect(dry.body.dryRun).toBe(true);
    const viewerReal = await rest(url, "POST", "/api/v1/instructions/execute", {
      token: viewer,
      body: { instructions: parsed.body.instructions, accounts: ["account1"] },
    });
    expect(viewerReal.status).toBe(403);
    const real = await rest(url, "POST", "/api/v1/instructions/execute", {
      token: trader,
      body: { instructions: parsed.body.instructions, accounts: ["account1"] },
    });
    expect(real.body.status).toBe("running");
    const status = await rest(url, "GET", `/api/v1/executions/${real.body.id}`, { token: trader });
    expect(status.body.id).toBe(real.body.id);
    const cancelled = await rest(url, "POST", `/api/v1/executions/${real.body.id}/cancel`, { token: trader, body: {} });
    expect(cancelled.body.status).toBe("cancelled");
    expect(
      (await rest(url, "POST", `/api/v1/executions/${real.body.id}/cancel`, { token: viewer, body: {} })).status,
    ).toBe(403);
  });

  it("answers invalid input with 400 and the zod message", async () => {
    const r = await rest(url, "POST", "/api/v1/instructions/parse", {
      token: trader,
      body: { text: "", accounts: "account1" },
    });
    expect(r.status).toBe(400);
    expect(r.body.code).toBe("BAD_REQUEST");
    expect(r.body.message).toMatch(/^Invalid input: /);
    expect(r.body.message).toContain("text");
    expect(r.body.message).toContain("accounts");
    expect(r.body.stack).toBeUndefined();
    expect(JSON.stringify(r.body)).not.toContain("at ");
    const cmd = await rest(url, "POST", "/api/v1/algorithms/algo1/command", {
      token: trader,
      body: { command: "explode" },
    });
    expect(cmd.status).toBe(400);
    expect(cmd.body.message).toContain("command");
  });

  it("refuses missing, forged and expired tokens", async () => {
    expect((await rest(url, "GET", "/api/v1/accounts")).status).toBe(401);
    const [h, p] = trader.split(".");
    const forged = await rest(url, "GET", "/api/v1/accounts", {
      token: `${h}.${p}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`,
    });
    expect(forged.status).toBe(401);
    expect(forged.body.message).toBe("Invalid token");
    const { SignJWT } = await import("jose");
    const expired = await new SignJWT({ username: "trader1", role: "trader" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("u-trader1")
      .setIssuer("desk-gateway")
      .setAudience("desk-gateway/access")
      .setIssuedAt(Math.floor(Date.now() / 1000) - 3600)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(new TextEncoder().encode("test-secret-0123456789abcdef"));
    const r = await rest(url, "GET", "/api/v1/accounts", { token: expired });
    expect(r.status).toBe(401);
    expect(r.body.message).toBe("Token expired");
    const none = `${Buffer.from('{"alg":"none"}').toString("base64url")}.${p}.`;
    expect((await rest(url, "GET", "/api/v1/accounts", { token: none })).status).toBe(401);
  });

  it("serves the OpenAPI document, /health and /metrics", async () => {
    const doc = await rest(url, "GET", "/api/v1/openapi.json");
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).toContain("/instructions/parse");
    expect(doc.body.servers[0].url).toBe("/api/v1");
    // Only protected routes ask for a bearer token; public ones (login, refresh, health) do not.
    const operations = Object.entries(doc.body.paths as Record<string, Record<string, OpenApiOperation>>).flatMap(
      ([path, methods]) => Object.entries(methods).map(([method, op]) => ({ route: `${method} ${path}`, op })),
    );
    const publicRoutes = ["post /auth/login", "post /auth/refresh", "get /system/health"];
    for (const { route, op } of operations) {
      const statuses = Object.keys(op.responses);
      expect(statuses, route).toEqual(expect.arrayContaining(["200", "400", "429", "500", "503"]));
      if (publicRoutes.includes(route)) {
        expect(op.security, route).toBeUndefined();
        expect(statuses, route).not.toContain("403");
      } else {
        expect(op.security, route).toEqual([{ Authorization: [] }]);
        expect(statuses, route).toEqual(expect.arrayContaining(["401", "403"]));
      }
      if (route.includes("{")) expect(statuses, route).toContain("404");
      if (route.startsWith("post ")) expect(statuses, route).toEqual(expect.arrayContaining(["413", "415"]));
    }
    expect(operations.map((o) => o.route)).toEqual(expect.arrayContaining([...publicRoutes, "post /auth/logout"]));
    // A write may end with its outcome unknown (504); a read never does.
    expect(Object.keys(doc.body.paths["/instructions/execute"].post.responses)).toContain("504");
    expect(Object.keys(doc.body.paths["/accounts"].get.responses)).not.toContain("504");
    const health = await rest(url, "GET", "/health");
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: "ok", mode: "real", broker: { reachable: true } });
    expect(health.body.services.account_service).toBe("available");
    expect(health.body.pubsub.state).toBe("connected");
    const metrics = await rest(url, "GET", "/metrics");
    expect(metrics.body).toContain(
      'gateway_backend_requests_total{service="account_service",method="get_accounts",outcome="ok"}',
    );
    expect(metrics.body).toContain("gateway_backend_request_duration_seconds_bucket");
    expect(metrics.body).toContain("gateway_ws_clients");
    const sys = await rest(url, "GET", "/api/v1/system/health");
    expect(sys.body.status).toBe("ok");
  });

  it("answers CORS preflights for allowed origins only", async () => {
    const ok = await fetch(`${url}/api/v1/instructions/parse`, {
      method: "OPTIONS",
      headers: { origin: "https://desk.example.com", "access-control-request-method": "POST" },
    });
    expect(ok.status).toBe(204);
    expect(ok.headers.get("access-control-allow-origin")).toBe("https://desk.example.com");
    expect(ok.headers.get("access-control-allow-headers")).toContain("authorization");
    const other = await rest(url, "GET", "/api/v1/accounts", {
      token: trader,
      headers: { origin: "https://evil.example" },
    });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });
});

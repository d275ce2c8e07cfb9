import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGateway } from "../src/index.js";
import { login, rest, startStack, testConfig } from "./helpers/stack.js";
import { createClient } from "./helpers/ws-client.js";

/** Review findings: strict REST inputs, bad bodies, idempotent executes, /health load, login brute force. */
describe("REST hardening", () => {
  let stack: Awaited<ReturnType<typeof startStack>>;
  let url: string;
  let trader: string;
  // biome-ignore lint/suspicious/noExplicitAny: the parsed instruction list is passed through as-is
  let instructions: any;
  const closers: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    stack = await startStack();
    url = stack.gateway.url;
    trader = await login(url, "trader1", "trader123");
    const parsed = await rest(url, "POST", "/api/v1/instructions/parse", {
      token: trader,
      body: { text: "双卖 500 当月 万1 的v", accounts: ["account1"] },
    });
    instructions = parsed.body.instructions;
  });
  afterAll(async () => {
    for (const c of closers) await c();
    await stack?.close();
  });

  const post = (
    path: string,
    body: string | undefined,
    headers: Record<string, string> = { "content-type": "application/json" },
  ) =>
    fetch(`${url}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${trader}`, ...headers },
      ...(body !== undefined ? { body } : {}),
    });

  describe("booleans and numbers in JSON bodies are not coerced", () => {
    it.each(["false", "no", 0, null])("enabled: %j -> 400, over REST and then over tRPC", async (enabled) => {
      const r = await rest(url, "POST", "/api/v1/accounts/account2/enabled", { token: trader, body: { enabled } });
      expect(r.status).toBe(400);
      expect(r.body.message).toMatch(/^Invalid input: enabled: /);
      // The REST call must not have switched the shared schema to coercion for tRPC.
      const c = createClient(url, stack.gateway.wsUrl, trader);
      closers.push(c.close);
      const err = await c.client.account.setEnabled
        .mutate({ accountId: "account2", enabled: enabled as unknown as boolean })
        .catch((e: unknown) => e);
      expect((err as { data?: { code?: string } }).data?.code).toBe("BAD_REQUEST");
      const account = await rest(url, "GET", "/api/v1/accounts/account2", { token: trader });
      expect(account.body.enabled).toBe(true);
    });

    it.each(["false", null, 0, "true"])("dryRun: %j -> 400, nothing executed", async (dryRun) => {
      const r = await rest(url, "POST", "/api/v1/instructions/execute", {
        token: trader,
        body: { instructions, accounts: ["account1"], dryRun },
      });
      expect(r.status).toBe(400);
      expect(r.body.message).toMatch(/dryRun/);
    });

    it("still accepts real booleans, and a quantity given as a string is refused", async () => {
      const ok = await rest(url, "POST", "/api/v1/accounts/account2/enabled", {
        token: trader,
        body: { enabled: true },
      });
      expect(ok.status).toBe(200);
      const dry = await rest(url, "POST", "/api/v1/instructions/execute", {
        token: trader,
        body: { instructions, accounts: ["account1"], dryRun: true },
      });
      expect(dry.status).toBe(200);
      expect(dry.body.dryRun).toBe(true);
      const numericField = Object.keys(instructions[0]).find((k) => typeof instructions[0][k] === "number");
      if (numericField) {
        const stringly = [{ ...instructions[0], [numericField]: String(instructions[0][numericField]) }];
        const r = await rest(url, "POST", "/api/v1/instructions/execute", {
          token: trader,
          body: { instructions: stringly, accounts: ["account1"], dryRun: true },
        });
        expect(r.status).toBe(400);
      }
    });
  });

  describe("malformed and empty bodies", () => {
    it("answers a truncated JSON body with 400 and a clear message", async () => {
      const res = await post("/api/v1/instructions/parse", '{"text": "双卖 500", "accounts": ["acc');
      expect(res.status).toBe(400);
      const body = (await res.json()) as { message: string; code: string };
      expect(body.code).toBe("PARSE_ERROR");
      expect(body.message).toMatch(/^Malformed JSON body: /);
    });

    it("refuses a JSON body that is not an object", async () => {
      const res = await post("/api/v1/instructions/parse", "[1, 2]");
      expect(res.status).toBe(400);
      expect(((await res.json()) as { message: string }).message).toBe("The JSON body must be an object");
    });

    it("treats an empty body as {} on a POST whose input is only path parameters", async () => {
      const a = await rest(url, "POST", "/api/v1/instructions/execute", {
        token: trader,
        body: { instructions, accounts: ["account1"] },
      });
      const b = await rest(url, "POST", "/api/v1/instructions/execute", {
        token: trader,
        body: { instructions, accounts: ["account1"] },
      });
      const withType = await post(`/api/v1/executions/${a.body.id}/cancel`, "");
      expect(withType.status).toBe(200);
      expect(((await withType.json()) as { status: string }).status).toBe("cancelled");
      const noBody = await post(`/api/v1/executions/${b.body.id}/cancel`, undefined, {});
      expect(noBody.status).toBe(200);
      // An empty body where fields are required is an input error, not a server error.
      const parse = await post("/api/v1/instructions/parse", "");
      expect(parse.status).toBe(400);
    });

    it("reads application/json with a charset, and refuses other content types with 415", async () => {
      const charset = await post(
        "/api/v1/instructions/parse",
        JSON.stringify({ text: "双卖 500 当月 万1 的v", accounts: ["account1"] }),
        {
          "content-type": "application/json; charset=utf-8",
        },
      );
      expect(charset.status).toBe(200);
      const text = await post("/api/v1/instructions/parse", "text=x", { "content-type": "text/plain" });
      expect(text.status).toBe(415);
    });
  });

  describe("clientOrderId", () => {
    const execute = (clientOrderId: string) =>
      rest(url, "POST", "/api/v1/instructions/execute", {
        token: trader,
        body: { instructions, accounts: ["account1"], clientOrderId },
      });

    it("returns the same execution for a repeated id, a new one for a new id", async () => {
      const first = await execute("order-0001");
      expect(first.status).toBe(200);
      const again = await execute("order-0001");
      expect(again.body.id).toBe(first.body.id);
      const other = await execute("order-0002");
      expect(other.status).toBe(200);
      expect(other.body.id).not.toBe(first.body.id);
      // Concurrent retries join one call instead of racing.
      const both = await Promise.all([execute("order-0003"), execute("order-0003")]);
      expect(both.map((r) => r.status)).toEqual([200, 200]);
      expect(both[0].body.id).toBe(both[1].body.id);
      // The same key over tRPC (same user) is the same order too.
      const c = createClient(url, stack.gateway.wsUrl, trader);
      closers.push(c.close);
      const viaTrpc = await c.client.instruction.execute.mutate({
        instructions,
        accounts: ["account1"],
        clientOrderId: "order-0001",
      });
      expect(viaTrpc.id).toBe(first.body.id);
    });

    it("is per user: another user's same key is another order", async () => {
      const admin = await login(url, "admin", "admin123");
      const mine = await execute("shared-key");
      const theirs = await rest(url, "POST", "/api/v1/instructions/execute", {
        token: admin,
        body: { instructions, accounts: ["account1"], clientOrderId: "shared-key" },
      });
      expect(theirs.status).toBe(200);
      expect(theirs.body.id).not.toBe(mine.body.id);
    });

    it.each(["", "has space", "x".repeat(65), "ä"])("refuses %j", async (bad) => {
      expect((await execute(bad)).status).toBe(400);
    });
  });

  describe("/health", () => {
    it("reuses the broker's answers within the cache window", async () => {
      const g = await startGateway(testConfig(stack.backend, { healthCacheMs: 60_000 }));
      try {
        const first = await rest(g.url, "GET", "/health");
        const second = await rest(g.url, "GET", "/health");
        expect(first.body.status).toBe("ok");
        expect(second.body.requests.sent).toBe(first.body.requests.sent);
        expect(second.body.checkedAt).toBe(first.body.checkedAt);
      } finally {
        await g.close();
      }
    });

    it("asks once per service, one try each, when not cached", async () => {
      const g = await startGateway(testConfig(stack.backend, { healthCacheMs: 0 }));
      try {
        const first = await rest(g.url, "GET", "/health");
        const second = await rest(g.url, "GET", "/health");
        const services = Object.keys(first.body.services).length;
        expect(second.body.requests.sent - first.body.requests.sent).toBe(services);
      } finally {
        await g.close();
      }
    });
  });

  describe("login brute force", () => {
    it("allows 5 failures per (username, address) a minute, then 429 with Retry-After; other users are unaffected", async () => {
      const g = await startGateway(testConfig(stack.backend));
      try {
        const attempt = (username: string, password: string) =>
          rest(g.url, "POST", "/api/v1/auth/login", { body: { username, password } });
        for (let i = 0; i < 5; i++) expect((await attempt("viewer1", `guess-${i}`)).status).toBe(401);
        const blocked = await attempt("viewer1", "viewer123");
        expect(blocked.status).toBe(429);
        expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
        expect(blocked.body.message).toMatch(/Too many failed logins/);
        // Over tRPC too: the limit is on the procedure, not the transport.
        const c = createClient(g.url, g.wsUrl, undefined);
        closers.push(c.close);
        const err = await c.client.auth.login
          .mutate({ username: "viewer1", password: "viewer123" })
          .catch((e: unknown) => e);
        expect((err as { data?: { code?: string } }).data?.code).toBe("TOO_MANY_REQUESTS");
        expect((await attempt("trader1", "trader123")).status).toBe(200);
        const metrics = await rest(g.url, "GET", "/metrics");
        expect(metrics.body).toMatch(/gateway_rate_limited_total\{scope="login"\} 2/);
      } finally {
        await g.close();
      }
    });
  });
});

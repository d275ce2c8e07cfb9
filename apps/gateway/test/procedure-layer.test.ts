import { createNativeCodec } from "@desk/pickle";
import { waitFor } from "@desk/testkit";
import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import type { ResultOf } from "@desk/contracts";
import { SignJWT } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import { createPermissionCache } from "../src/auth/permissions.js";
import { PubSubscriber } from "../src/backend/subscriber.js";
import { type AppRouter, startGateway } from "../src/index.js";
import { createLogger } from "../src/logger.js";
import { createMetrics } from "../src/metrics.js";
import { appRouter } from "../src/root.js";
import { type FakeBackend, marketTick, startFakeBackend } from "./helpers/fake-backend.js";
import { TEST_SECRET, login, rest, testConfig } from "./helpers/stack.js";
import { createClient } from "./helpers/ws-client.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function stack(extra: Parameters<typeof testConfig>[1] = {}, closers = cleanups) {
  const backend = await startFakeBackend();
  closers.push(() => backend.close());
  const gateway = await startGateway(testConfig(backend, extra));
  closers.push(() => gateway.close());
  return { backend, gateway };
}

/** Makes get_accounts wait until released: a call that is still running when the test looks. */
function holdGetAccounts(backend: FakeBackend) {
  const state = { started: 0, finished: 0, release: () => {} };
  const released = new Promise<void>((resolve) => {
    state.release = resolve;
  });
  const original = backend.handlers.account_service.get_accounts;
  backend.handlers.account_service.get_accounts = async (args, kwargs) => {
    state.started++;
    await released;
    state.finished++;
    return original(args, kwargs);
  };
  cleanups.push(() => state.release());
  return state;
}

async function metricValue(url: string, line: string): Promise<number> {
  const text = (await rest(url, "GET", "/metrics")).body as string;
  const found = text.split("\n").find((l) => l.startsWith(`${line} `));
  return found ? Number(found.slice(line.length + 1)) : 0;
}

const abortedGetAccounts =
  'gateway_backend_requests_total{service="account_service",method="get_accounts",outcome="aborted"}';

describe("a request that goes away cancels its backend call", () => {
  it.each(["REST", "tRPC over HTTP"] as const)("%s", async (transport) => {
    const { backend, gateway } = await stack({ zmqTimeout: 20_000, zmqRetries: 1 });
    const token = await login(gateway.url, "admin", "admin123");
    const held = holdGetAccounts(backend);
    const controller = new AbortController();
    const request =
      transport === "REST"
        ? fetch(`${gateway.url}/api/v1/accounts`, {
            headers: { authorization: `Bearer ${token}` },
            signal: controller.signal,
          })
        : createClient(gateway.url, gateway.wsUrl, token).client.account.list.query(undefined, {
            signal: controller.signal,
          });
    const settled = request.then(
      () => "answered",
      () => "aborted",
    );
    await waitFor(() => held.started === 1, "the call to reach the worker");
    controller.abort();
    expect(await settled).toBe("aborted");
    // The gateway stops waiting at once: the MDP request is gone while the worker still works on it.
    await waitFor(async () => (await metricValue(gateway.url, abortedGetAccounts)) === 1, "the aborted outcome");
    expect((await rest(gateway.url, "GET", "/health")).body.requests.pending).toBe(0);
    expect(held.finished).toBe(0);
  });
});

describe("HTTP edges", () => {
  let s: Awaited<ReturnType<typeof stack>>;
  let token: string;
  const closers: Array<() => Promise<void>> = [];
  beforeAll(async () => {
    s = await stack({ corsOrigins: ["*"] }, closers);
    token = await login(s.gateway.url, "trader1", "trader123");
  });
  afterAll(async () => {
    for (const fn of closers.splice(0).reverse()) await fn();
  });

  it("answers a body over 1 MB with 413, over REST and over tRPC", async () => {
    const big = JSON.stringify({ text: "x".repeat(1024 * 1024 + 10), accounts: ["account1"] });
    const headers = { "content-type": "application/json", authorization: `Bearer ${token}` };
    const restReply = await fetch(`${s.gateway.url}/api/v1/instructions/parse`, { method: "POST", headers, body: big });
    expect(restReply.status).toBe(413);
    expect(((await restReply.json()) as { code: string }).code).toBe("PAYLOAD_TOO_LARGE");
    const trpcReply = await fetch(`${s.gateway.url}/trpc/instruction.parse`, {
      method: "POST",
      headers,
      body: JSON.stringify({ json: JSON.parse(big) }),
    });
    expect(trpcReply.status).toBe(413);
    // The gateway keeps serving.
    expect((await rest(s.gateway.url, "GET", "/api/v1/accounts", { token })).status).toBe(200);
  });

  it('with CORS_ORIGINS="*" allows any origin, preflight included', async () => {
    const preflight = await fetch(`${s.gateway.url}/api/v1/accounts`, {
      method: "OPTIONS",
      headers: { origin: "https://anywhere.example", "access-control-request-method": "GET" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("*");
    expect(preflight.headers.get("access-control-allow-methods")).toContain("POST");
    const call = await rest(s.gateway.url, "GET", "/api/v1/accounts", {
      token,
      headers: { origin: "https://elsewhere.example" },
    });
    expect(call.status).toBe(200);
    expect(call.headers.get("access-control-allow-origin")).toBe("*");
    // No Origin, no CORS headers.
    expect((await rest(s.gateway.url, "GET", "/api/v1/accounts", { token })).headers.get("vary")).toBeNull();
  });
});

describe("tokens and permissions", () => {
  it("refuses a validly signed token of a user the backend no longer knows (401, counted)", async () => {
    const { gateway } = await stack();
    const token = await new SignJWT({ username: "gone", role: "trader" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("u-deleted")
      .setIssuer("desk-gateway")
      .setAudience("desk-gateway/access")
      .setIssuedAt()
      .setExpirationTime("1h")
      .sign(new TextEncoder().encode(TEST_SECRET));
    const r = await rest(gateway.url, "GET", "/api/v1/accounts", { token });
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ code: "UNAUTHORIZED", message: "User is unknown or disabled" });
    expect(await metricValue(gateway.url, 'gateway_auth_failures_total{reason="unknown_user"}')).toBe(1);
  });

  it("reuses permissions until the cache entry expires, exactly at its ttl", async () => {
    let clock = 1_000;
    let lookups = 0;
    const cache = createPermissionCache({
      ttlMs: 10_000,
      now: () => clock,
      fetch: async (userId) => {
        lookups++;
        return {
          userId,
          role: "trader",
          permissions: ["account:read"],
          accounts: [`acc-${lookups}`],
          allAccounts: false,
        };
      },
    });
    const [a, b] = await Promise.all([cache.get("u1"), cache.get("u1")]);
    expect(lookups).toBe(1); // concurrent lookups share one call
    expect(a).toBe(b);
    clock += 9_999;
    expect((await cache.get("u1")).accounts).toEqual(["acc-1"]);
    clock += 2;
    expect((await cache.get("u1")).accounts).toEqual(["acc-2"]);
    expect(lookups).toBe(2);
  });

  it("takes a role change into account once the permission cache expires", async () => {
    const { backend, gateway } = await stack({ permissionsCacheMs: 300 });
    const token = await login(gateway.url, "trader1", "trader123");
    expect((await rest(gateway.url, "GET", "/api/v1/accounts/account2", { token })).status).toBe(200);
    const original = backend.handlers.auth_service.get_user_permissions;
    backend.handlers.auth_service.get_user_permissions = async (args, kwargs) => ({
      ...(await original(args, kwargs)),
      accounts: ["account1"],
    });
    await waitFor(
      async () => (await rest(gateway.url, "GET", "/api/v1/accounts/account2", { token })).status === 403,
      "account2 to be refused after the cache expired",
    );
    expect((await rest(gateway.url, "GET", "/api/v1/accounts/account1", { token })).status).toBe(200);
  });
});

describe("the SUB socket's topics", () => {
  /** A PubSubscriber on a fresh backend's PUB socket. */
  async function subscriberFor(o: { lingerMs: number; replayBufferSize: number }) {
    const backend = await startFakeBackend();
    cleanups.push(() => backend.close());
    const subscriber = new PubSubscriber({
      url: backend.pubUrl,
      codec: createNativeCodec(),
      logger: createLogger("silent"),
      metrics: createMetrics(),
      ...o,
    });
    subscriber.start();
    cleanups.push(() => subscriber.close());
    return { backend, subscriber };
  }

  it("keeps a topic (and buffers it) for the linger after its last listener, then unsubscribes", async () => {
    const { backend, subscriber } = await subscriberFor({ lingerMs: 400, replayBufferSize: 10 });
    // A marker topic that stays subscribed throughout: PUB/SUB keeps one publisher's order, so
    // once a marker published after some ticks has arrived, those ticks arrived too, or were filtered out.
    let markers = 0;
    const marker = subscriber.listen(["market.510300"], () => markers++);
    const got: number[] = [];
    const first = subscriber.listen(["market.510050"], (e) => got.push((e.data as { seq: number }).seq));
    await waitFor(async () => {
      await backend.publish("market.510050", marketTick("510050", backend.nextSeq()));
      await backend.publish("market.510300", marketTick("510300", backend.nextSeq()));
      return got.length > 0 && markers > 0;
    }, "the first tick and marker");
    const lastSeen = subscriber.currentSeq;
    first.close();
    expect(subscriber.status().topics).toBe(2); // 510050 lingering, the marker live
    const received = subscriber.status().received;
    await backend.publish("market.510050", marketTick("510050", 7001));
    await waitFor(() => subscriber.status().received > received, "the tick published during the linger");
    const during = subscriber.listen(["market.510050"], () => {}, lastSeen);
    // (A tick of the first loop may still have been in flight when lastSeen was read.)
    expect(during.replay.map((e) => (e.data as { seq: number }).seq).at(-1)).toBe(7001);
    during.close();

    await waitFor(() => subscriber.status().topics === 1, "the topic to be dropped after the linger");
    const dropped = subscriber.currentSeq;
    // Unsubscribed: ZeroMQ filters the topic out, nothing of it is received or buffered.
    const before = { received: subscriber.status().received, markers };
    for (let i = 0; i < 3; i++) await backend.publish("market.510050", marketTick("510050", 8000 + i));
    await backend.publish("market.510300", marketTick("510300", backend.nextSeq()));
    await waitFor(() => markers > before.markers, "the marker after the ticks");
    expect(subscriber.status().received - before.received).toBe(markers - before.markers);
    const again = subscriber.listen(["market.510050"], () => {}, dropped);
    expect(again.replay).toEqual([]);
    again.close();
    marker.close();
  });

  it("replays only the newest replayBufferSize events of a topic", async () => {
    const { backend, subscriber } = await subscriberFor({ lingerMs: 0, replayBufferSize: 5 });
    const got: number[] = [];
    const live = subscriber.listen(["market.159915"], (e) => got.push((e.data as { seq: number }).seq));
    await waitFor(async () => {
      await backend.publish("market.159915", marketTick("159915", 1));
      return got.length > 0;
    }, "the first tick");
    const since = subscriber.currentSeq;
    for (let seq = 101; seq <= 108; seq++) await backend.publish("market.159915", marketTick("159915", seq));
    await waitFor(() => got.includes(108), "all eight ticks");
    const resumed = subscriber.listen(["market.159915"], () => {}, since);
    // Eight arrived after `since`; the ring kept the last five: a resume past it has a gap it cannot fill.
    expect(resumed.replay.map((e) => (e.data as { seq: number }).seq)).toEqual([104, 105, 106, 107, 108]);
    resumed.close();
    live.close();
  });
});

describe("the router seen by clients", () => {
  it("has the same procedures as before the redesign (paths and types)", () => {
    const procedures = Object.entries(
      appRouter._def.procedures as unknown as Record<string, { _def: { type: string } }>,
    )
      .map(([path, p]) => `${path} ${p._def.type}`)
      .sort();
    expect(procedures).toEqual([
      "account.get query",
      "account.list query",
      "account.onUpdate subscription",
      "account.positions query",
      "account.riskMetrics query",
      "account.setEnabled mutation",
      "account.verifyPositions query",
      "algorithm.command mutation",
      "algorithm.get query",
      "algorithm.list query",
      "algorithm.logs query",
      "algorithm.onProgress subscription",
      "auth.changePassword mutation",
      "auth.login mutation",
      "auth.logout mutation",
      "auth.me query",
      "auth.permissions query",
      "auth.refresh mutation",
      "auth.verifyUser query",
      "instruction.cancel mutation",
      "instruction.execute mutation",
      "instruction.executeLive subscription",
      "instruction.onExecution subscription",
      "instruction.parse mutation",
      "instruction.status query",
      "market.onTick subscription",
      "system.health query",
    ]);
  });

  it("types backend procedures by their contracts", () => {
    type In = inferRouterInputs<AppRouter>;
    type Out = inferRouterOutputs<AppRouter>;
    expectTypeOf<Out["account"]["list"]>().toEqualTypeOf<ResultOf<"account_service", "get_accounts">>();
    expectTypeOf<Out["account"]["setEnabled"]>().toEqualTypeOf<ResultOf<"account_service", "set_account_enabled">>();
    expectTypeOf<Out["algorithm"]["logs"]>().toEqualTypeOf<ResultOf<"algorithm_service", "get_algorithm_logs">>();
    expectTypeOf<Out["instruction"]["execute"]>().toEqualTypeOf<
      ResultOf<"instruction_service", "execute_instructions">
    >();
    expectTypeOf<Out["auth"]["permissions"]>().toEqualTypeOf<ResultOf<"auth_service", "get_user_permissions">>();
    expectTypeOf<In["account"]["list"]>().toEqualTypeOf<void>();
    expectTypeOf<In["account"]["setEnabled"]>().toEqualTypeOf<{ accountId: string; enabled: boolean }>();
    expectTypeOf<In["auth"]["changePassword"]>().toEqualTypeOf<{ oldPassword: string; newPassword: string }>();
    expectTypeOf<In["auth"]["permissions"]>().toEqualTypeOf<{ userId?: string | undefined }>();
    expectTypeOf<In["market"]["onTick"]>().toEqualTypeOf<{
      symbols: string[];
      lastEventId?: string | null | undefined;
    }>();
    expectTypeOf<In["account"]["onUpdate"]>().toEqualTypeOf<{
      accountIds: string[];
      lastEventId?: string | null | undefined;
    }>();
    expectTypeOf<In["algorithm"]["command"]["command"]>().toEqualTypeOf<"start" | "pause" | "resume" | "stop">();
  });
});

import { afterEach, describe, expect, it } from "vitest";
import { openStream } from "../src/backend/stream.js";
import { startGateway } from "../src/index.js";
import { createMetrics } from "../src/metrics.js";
import { accountEvent, type FakeBackend, marketTick, startFakeBackend } from "./helpers/fake-backend.js";
import { metric } from "./helpers/delivery.js";
import { startSubscriber } from "./helpers/subscriber.js";
import { login, rest, testConfig } from "./helpers/stack.js";
import { collect, createClient } from "./helpers/ws-client.js";
import { freePort, waitFor } from "@desk/testkit";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function backend(o: Parameters<typeof startFakeBackend>[0] = {}): Promise<FakeBackend> {
  const b = await startFakeBackend(o);
  let closed = false;
  const close = b.close;
  b.close = async () => {
    if (closed) return;
    closed = true;
    await close();
  };
  cleanups.push(() => b.close());
  return b;
}

async function gateway(b: FakeBackend, extra: Parameters<typeof testConfig>[1] = {}) {
  const g = await startGateway(testConfig(b, extra));
  cleanups.push(() => g.close());
  return g;
}

describe("backend failures", () => {
  it("turns a dead backend into a clear error naming the service, and recovers when it returns", async () => {
    const port = await freePort();
    const endpoint = `tcp://127.0.0.1:${port}`;
    let b = await backend({ brokerEndpoint: endpoint });
    const g = await gateway(b, { zmqTimeout: 400, zmqRetries: 2, permissionsCacheMs: 120_000 });
    const token = await login(g.url, "admin", "admin123");
    expect((await rest(g.url, "GET", "/api/v1/accounts", { token })).status).toBe(200);

    await b.close();
    const down = await rest(g.url, "GET", "/api/v1/accounts", { token });
    expect(down.status).toBe(503);
    expect(down.body.code).toBe("SERVICE_UNAVAILABLE");
    expect(down.body.message).toBe(`account_service is unavailable: the broker at ${endpoint} is unreachable`);
    const health = await rest(g.url, "GET", "/health");
    expect(health.status).toBe(503);
    expect(health.body.status).toBe("down");

    b = await backend({ brokerEndpoint: endpoint, pubEndpoint: `tcp://127.0.0.1:${await freePort()}` });
    await waitFor(async () => (await rest(g.url, "GET", "/api/v1/accounts", { token })).status === 200, "recovery");
    const metrics = await rest(g.url, "GET", "/metrics");
    expect(metrics.body).toMatch(
      /gateway_backend_timeouts_total\{service="account_service",method="get_accounts"\} [1-9]/,
    );
  });

  it("fails at once while no broker listens (503 naming it, not 3 x ZMQ_TIMEOUT), and recovers by itself", async () => {
    const endpoint = `tcp://127.0.0.1:${await freePort()}`;
    const g = await startGateway(
      testConfig(
        { brokerUrl: endpoint, pubUrl: `tcp://127.0.0.1:${await freePort()}` },
        { zmqTimeout: 5_000, zmqRetries: 3, brokerProbeMs: 100 },
      ),
    );
    cleanups.push(() => g.close());
    const started = Date.now();
    const down = await rest(g.url, "POST", "/api/v1/auth/login", { body: { username: "admin", password: "admin123" } });
    const elapsed = Date.now() - started;
    expect(down.status).toBe(503);
    expect(down.body.message).toMatch(
      new RegExp(`^auth_service is unavailable: the broker at ${endpoint} is unreachable`),
    );
    // Not one try of 5 s, let alone the 15 s budget: the gateway knew the broker was down.
    expect(elapsed).toBeLessThan(5_000);
    const health = await rest(g.url, "GET", "/health");
    expect(health.status).toBe(503);
    expect(health.body.broker.knownDown).toBe(true);
    expect(metric((await rest(g.url, "GET", "/metrics")).body, "gateway_broker_down")).toBe(1);

    await backend({ brokerEndpoint: endpoint });
    const token = await waitFor(async () => {
      const r = await rest(g.url, "POST", "/api/v1/auth/login", { body: { username: "admin", password: "admin123" } });
      return r.status === 200 ? (r.body.token as string) : undefined;
    }, "the gateway to find the broker again");
    expect((await rest(g.url, "GET", "/api/v1/accounts", { token })).status).toBe(200);
    expect((await rest(g.url, "GET", "/health")).body.broker.knownDown).toBe(false);
    expect(metric((await rest(g.url, "GET", "/metrics")).body, "gateway_broker_down")).toBe(0);
  });

  it("answers a reply that breaks the contract with 502, and hides tracebacks", async () => {
    const b = await backend();
    const g = await gateway(b);
    const token = await login(g.url, "admin", "admin123");
    b.misbehave("account_service", "get_account", () => ({ id: 42 }));
    const bad = await rest(g.url, "GET", "/api/v1/accounts/account1", { token });
    expect(bad.status).toBe(502);
    expect(bad.body.code).toBe("BAD_GATEWAY");
    expect(bad.body.message).toMatch(/^account_service sent an invalid result for account_service\.get_account at id/);

    b.handlers.account_service.get_positions = () => {
      throw new Error(
        'Traceback (most recent call last):\n  File "/srv/desk/secret_path.py", line 3, in get_positions\nValueError: boom',
      );
    };
    const internal = await rest(g.url, "GET", "/api/v1/accounts/account1/positions", { token });
    expect(internal.status).toBe(500);
    expect(internal.body.message).toBe("account_service.get_positions failed: ValueError: boom");
    expect(JSON.stringify(internal.body)).not.toContain("secret_path");

    b.handlers.account_service.get_risk_metrics = () => {
      throw new Error("CONFLICT: account is being rebalanced");
    };
    const conflict = await rest(g.url, "GET", "/api/v1/accounts/account1/risk", { token });
    expect(conflict.status).toBe(409);
    expect(conflict.body.message).toBe("account is being rebalanced");
  });
});

describe("limits", () => {
  it("rate-limits a user with 429 and Retry-After", async () => {
    const b = await backend();
    const g = await gateway(b, {
      rateLimit: { userCapacity: 5, userRefillPerSec: 0.01, ipCapacity: 1000, ipRefillPerSec: 1000 },
    });
    const token = await login(g.url, "trader1", "trader123");
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof rest>> | undefined;
    for (let i = 0; i < 8; i++) {
      const r = await rest(g.url, "GET", "/api/v1/accounts", { token });
      statuses.push(r.status);
      if (r.status === 429) limited = r;
    }
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses.slice(5)).toEqual([429, 429, 429]);
    expect(limited?.body.code).toBe("TOO_MANY_REQUESTS");
    // The limiter's own figure: 5 calls per 500 s window (5 / 0.01 per s), so minutes, not the old constant 1.
    const retryAfter = Number(limited?.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(400);
    expect(retryAfter).toBeLessThanOrEqual(500);
  });

  it("rate-limits an address, before authentication", async () => {
    const b = await backend();
    const g = await gateway(b, {
      rateLimit: { userCapacity: 1000, userRefillPerSec: 1000, ipCapacity: 3, ipRefillPerSec: 0.01 },
    });
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) codes.push((await rest(g.url, "GET", "/api/v1/accounts")).status);
    expect(codes).toEqual([401, 401, 401, 429, 429]);
  });

  it("bounds a slow subscriber's queue: drops the oldest and counts them", async () => {
    // Account events: every one is handed out (market ticks of one turn are superseded on arrival).
    const b = await backend();
    const metrics = createMetrics();
    const subscriber = startSubscriber(b.pubUrl, metrics);
    cleanups.push(() => subscriber.close());
    let buffered = 64 * 1024 * 1024;
    const stream = openStream<{ seq: number }>({
      subscriber,
      framing: {
        event: (_event, data) => data as { seq: number },
        expired: () => new Error("expired"),
        revoked: () => new Error("revoked"),
      },
      queueSize: 3,
      metrics,
      connection: { bufferedAmount: () => buffered },
      maxBufferedBytes: 1024,
    });
    stream.follow({ kind: "account", topics: ["account.account1"] });
    cleanups.push(() => stream.close());
    let seq = 0;
    await waitFor(async () => {
      await b.publish("account.account1", accountEvent(++seq, "account1"));
      return subscriber.status().received > 0;
    }, "the SUB socket to receive");
    for (let i = 0; i < 10; i++) await b.publish("account.account1", accountEvent(++seq, "account1"));
    const lastSeq = seq;
    await waitFor(async () => ((await metrics.pubsubDropped.get()).values[0]?.value ?? 0) >= 7, "7 drops counted");
    buffered = 0;
    const got: number[] = [];
    for (let i = 0; i < 3; i++) {
      const next = await stream.events.next();
      if (next.done) throw new Error("stream ended early");
      got.push(next.value.seq);
    }
    expect(got).toEqual([lastSeq - 2, lastSeq - 1, lastSeq]);
  });
});

describe("tokens on a long-lived WebSocket", () => {
  it("checks expiry on every operation, and ends running subscriptions when the token expires", async () => {
    const b = await backend();
    const g = await gateway(b, { jwtTtlSeconds: 2 });
    const token = await login(g.url, "trader1", "trader123");
    const c = createClient(g.url, g.wsUrl, token);
    cleanups.push(() => c.close());
    const first = collect((h) => c.client.market.onTick.subscribe({ symbols: ["510500"] }, h));
    await waitFor(async () => {
      await b.publish("market.510500", marketTick("510500", b.nextSeq()));
      return first.data.length > 0;
    }, "a first tick");
    await waitFor(() => first.errors.length > 0, "the running subscription to end", 10_000);
    expect((first.errors[0] as { data?: { code?: string } }).data?.code).toBe("UNAUTHORIZED");
    // Same connection (context created once), new operation: refused.
    const second = collect((h) => c.client.market.onTick.subscribe({ symbols: ["510500"] }, h));
    await waitFor(() => second.errors.length > 0, "the second subscription to be refused");
    expect((second.errors[0] as { message?: string }).message).toBe("Token expired");
  });
});

describe("graceful shutdown", () => {
  it("finishes calls in flight, then refuses new ones", async () => {
    const b = await backend();
    const g = await startGateway(testConfig(b, { shutdownGraceMs: 5000 }));
    const token = await login(g.url, "trader1", "trader123");
    let started = false;
    const original = b.handlers.account_service.get_accounts;
    b.handlers.account_service.get_accounts = async (args, kwargs) => {
      started = true;
      await new Promise((r) => setTimeout(r, 400));
      return original(args, kwargs);
    };
    const inFlight = rest(g.url, "GET", "/api/v1/accounts", { token });
    await waitFor(() => started, "the call to reach the backend");
    const closing = g.close();
    const r = await inFlight;
    expect(r.status).toBe(200);
    expect(r.body).toHaveLength(2);
    await closing;
    await expect(fetch(`${g.url}/health`)).rejects.toThrow();
  });
});

describe("a service without workers", () => {
  it("is reported as unavailable, and a slow one as a timeout, naming the service", async () => {
    const b = await backend();
    const g = await gateway(b, { zmqTimeout: 300, zmqRetries: 1, permissionsCacheMs: 120_000 });
    const token = await login(g.url, "admin", "admin123");
    b.handlers.account_service.get_accounts = () => new Promise((r) => setTimeout(() => r([]), 2000));
    const slow = await rest(g.url, "GET", "/api/v1/accounts", { token });
    expect(slow.status).toBe(408);
    expect(slow.body).toMatchObject({
      code: "TIMEOUT",
      message: "account_service did not answer account_service.get_accounts within 1 tries of 300 ms",
    });
    await b.stopWorker("algorithm_service");
    const none = await waitFor(async () => {
      const r = await rest(g.url, "GET", "/api/v1/algorithms", { token });
      return r.status === 503 ? r : undefined;
    }, "the broker to drop the worker");
    expect(none?.body.message).toBe("algorithm_service is unavailable: no worker is registered with the broker");
    expect((await rest(g.url, "GET", "/health")).body.services.algorithm_service).toBe("no_workers");
  });
});

describe("a WebSocket client that stops reading", () => {
  it("is disconnected once its send buffer stays over the limit", async () => {
    const { default: WebSocket } = await import("ws");
    const b = await backend();
    const g = await gateway(b, { wsMaxBufferedBytes: 64 * 1024, wsSlowClientGraceMs: 300 });
    const token = await login(g.url, "trader1", "trader123");
    const ws = new WebSocket(`${g.wsUrl}?connectionParams=1`);
    cleanups.push(() => ws.terminate());
    await new Promise((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    ws.send(JSON.stringify({ method: "connectionParams", data: { token } }));
    ws.send(
      JSON.stringify({
        id: 1,
        method: "subscription",
        params: { path: "market.onTick", input: { json: { symbols: ["510500"] } } },
      }),
    );
    const started = new Promise((resolve) => ws.on("message", (m) => String(m).includes('"started"') && resolve(true)));
    await started;
    ws.pause(); // stop reading: the kernel buffers fill, then the server's ws send buffer
    const big = { ...marketTick("510500", 1), name: "x".repeat(256 * 1024) };
    await waitFor(
      async () => {
        for (let i = 0; i < 8; i++) await b.publish("market.510500", { ...big, seq: b.nextSeq() });
        const metrics = await rest(g.url, "GET", "/metrics");
        return /gateway_ws_slow_clients_closed_total [1-9]/.test(metrics.body);
      },
      "the slow client to be cut off",
      20_000,
    );
    const health = await rest(g.url, "GET", "/health");
    expect(health.body.websocket.clients).toBe(0);
  });
});

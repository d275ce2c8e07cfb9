import { startMockBackend } from "@desk/mock-broker";
import { waitFor } from "@desk/testkit";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type GatewayConfig, startGateway } from "../src/index.js";
import { rest, testConfig } from "./helpers/stack.js";
import { collect, createClient } from "./helpers/ws-client.js";

/**
 * Logout, refresh rotation and password changes against the mock trading system
 * (which keeps a token version per user), on real sockets: each revocation ends
 * access over HTTP, over the WebSocket and for a subscription already running.
 */

/** The window within which another replica sees a password change (its permission cache). */
const WINDOW_MS = 1000;
/** A window no test waits for: what ends within it was pushed, not found by polling. */
const LONG_WINDOW_MS = 60_000;

type Mock = Awaited<ReturnType<typeof startMockBackend>>;
type Gateway = Awaited<ReturnType<typeof startGateway>>;

let mock: Mock;
const gateways: Gateway[] = [];
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  mock = await startMockBackend({ tickMs: 100, fillMs: 100, heartbeatInterval: 500, seed: 11 });
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(async () => {
  for (const g of gateways) await g.close();
  await mock?.close();
});

async function gateway(extra: Partial<GatewayConfig> = {}): Promise<Gateway> {
  const g = await startGateway(testConfig(mock, { zmqTimeout: 3000, permissionsCacheMs: WINDOW_MS, ...extra }));
  gateways.push(g);
  return g;
}

interface Tokens {
  token: string;
  refreshToken: string;
  expiresIn: number;
}

async function login(g: Gateway, username: string, password: string): Promise<Tokens> {
  const r = await rest(g.url, "POST", "/api/v1/auth/login", { body: { username, password } });
  if (r.status !== 200) throw new Error(`login ${username}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body as Tokens;
}

function wsClient(g: Gateway, token: string | (() => string)) {
  const c = createClient(g.url, g.wsUrl, token);
  cleanups.push(c.close);
  return c.client;
}

/** A market subscription that has delivered at least one tick. */
async function runningSubscription(client: ReturnType<typeof wsClient>) {
  const sub = collect((h) => client.market.onTick.subscribe({ symbols: ["510500"] }, h));
  cleanups.push(sub.stop);
  await waitFor(() => sub.data.length > 0, "a first tick");
  return sub;
}

const codeOf = (err: unknown) => (err as { data?: { code?: string } }).data?.code;
const messageOf = (err: unknown) => (err as { message?: string }).message;

describe("logout", () => {
  it("ends the session's access over HTTP, over the WebSocket and for its running subscription, at once", async () => {
    const g = await gateway({ permissionsCacheMs: LONG_WINDOW_MS });
    const mine = await login(g, "trader1", "trader123");
    const other = await login(g, "trader1", "trader123"); // the same user at another desk
    const client = wsClient(g, mine.token);
    const sub = await runningSubscription(client);
    const otherSub = await runningSubscription(wsClient(g, other.token));

    const out = await rest(g.url, "POST", "/api/v1/auth/logout", { token: mine.token });
    expect(out.body).toEqual({ loggedOut: true });
    // Far within the permission window: pushed by the logout, not found by polling.
    await waitFor(() => sub.errors.length > 0, "the running subscription to end");
    expect(codeOf(sub.errors[0])).toBe("UNAUTHORIZED");
    expect(messageOf(sub.errors[0])).toBe("Token revoked: logged out");

    const http = await rest(g.url, "GET", "/api/v1/accounts", { token: mine.token });
    expect(http.status).toBe(401);
    expect(http.body.message).toBe("Token revoked: logged out");
    // The same open WebSocket (its context holds the old token): a new operation is refused.
    const again = collect((h) => client.market.onTick.subscribe({ symbols: ["510300"] }, h));
    cleanups.push(again.stop);
    await waitFor(() => again.errors.length > 0, "a new subscription on the socket to be refused");
    expect(messageOf(again.errors[0])).toBe("Token revoked: logged out");
    const refreshed = await rest(g.url, "POST", "/api/v1/auth/refresh", { body: { refreshToken: mine.refreshToken } });
    expect(refreshed.status).toBe(401);
    expect(refreshed.body.message).toBe("Session revoked: logged out");

    // The other session of the same user is untouched.
    expect((await rest(g.url, "GET", "/api/v1/accounts", { token: other.token })).status).toBe(200);
    const seen = otherSub.data.length;
    await waitFor(() => otherSub.data.length > seen, "the other session's ticks to keep coming");
    expect(otherSub.errors).toEqual([]);
  });
});

describe("refresh tokens", () => {
  it("rotate: each one works once, and the new pair works", async () => {
    const g = await gateway();
    const first = await login(g, "trader1", "trader123");
    // exp is whole seconds: a fraction below 300, less the time the answer took on a loaded machine.
    expect(first.expiresIn).toBeGreaterThan(290);
    expect(first.expiresIn).toBeLessThanOrEqual(300);
    const r = await rest(g.url, "POST", "/api/v1/auth/refresh", { body: { refreshToken: first.refreshToken } });
    expect(r.status).toBe(200);
    const second = r.body as Tokens;
    expect(second.token).not.toBe(first.token);
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect((await rest(g.url, "GET", "/api/v1/accounts", { token: second.token })).status).toBe(200);
    // The access token of the earlier pair stays valid until its own expiry: only refresh tokens rotate.
    expect((await rest(g.url, "GET", "/api/v1/accounts", { token: first.token })).status).toBe(200);
    const third = await rest(g.url, "POST", "/api/v1/auth/refresh", { body: { refreshToken: second.refreshToken } });
    expect(third.status).toBe(200);
  });

  it("a rotated one presented again revokes the whole session, its subscriptions included", async () => {
    const g = await gateway();
    const stolen = await login(g, "trader1", "trader123");
    // The thief refreshes first with a copy; the user's own refresh (the same token) reveals it.
    const thief = (await rest(g.url, "POST", "/api/v1/auth/refresh", { body: { refreshToken: stolen.refreshToken } }))
      .body as Tokens;
    const sub = await runningSubscription(wsClient(g, thief.token));
    const reuse = await rest(g.url, "POST", "/api/v1/auth/refresh", { body: { refreshToken: stolen.refreshToken } });
    expect(reuse.status).toBe(401);
    expect(reuse.body.message).toMatch(/^Session revoked: its refresh token was used twice/);
    await waitFor(() => sub.errors.length > 0, "the thief's subscription to end");
    expect(messageOf(sub.errors[0])).toMatch(/^Token revoked: its refresh token was used twice/);
    for (const token of [thief.token, stolen.token]) {
      expect((await rest(g.url, "GET", "/api/v1/accounts", { token })).status).toBe(401);
    }
    const next = await rest(g.url, "POST", "/api/v1/auth/refresh", { body: { refreshToken: thief.refreshToken } });
    expect(next.status).toBe(401);
  });

  it("are no access tokens, and access tokens are no refresh tokens; another gateway's sessions are unknown here", async () => {
    const g = await gateway();
    const elsewhere = await gateway();
    const tokens = await login(g, "trader1", "trader123");
    const asAccess = await rest(g.url, "GET", "/api/v1/accounts", { token: tokens.refreshToken });
    expect(asAccess.status).toBe(401);
    expect(asAccess.body.message).toBe("Invalid token");
    const asRefresh = await rest(g.url, "POST", "/api/v1/auth/refresh", { body: { refreshToken: tokens.token } });
    expect(asRefresh.status).toBe(401);
    expect(asRefresh.body.message).toBe("Invalid refresh token");
    const unknown = await rest(elsewhere.url, "POST", "/api/v1/auth/refresh", {
      body: { refreshToken: tokens.refreshToken },
    });
    expect(unknown.status).toBe(401);
    expect(unknown.body.message).toMatch(/^Session unknown to this gateway/);
  });

  it("end with the session, however often they were rotated", async () => {
    const g = await gateway({ sessionTtlSeconds: 2, jwtTtlSeconds: 60 });
    const tokens = await login(g, "trader1", "trader123");
    // The access token never outlives the session.
    expect(tokens.expiresIn).toBeLessThanOrEqual(2);
    await waitFor(
      async () => (await rest(g.url, "GET", "/api/v1/accounts", { token: tokens.token })).status === 401,
      "the access token to expire with the session",
      10_000,
    );
    const r = await rest(g.url, "POST", "/api/v1/auth/refresh", { body: { refreshToken: tokens.refreshToken } });
    expect(r.status).toBe(401);
    expect(r.body.message).toBe("Session expired; log in again");
  });
});

describe("a password change", () => {
  it("ends every earlier token of the user here at once, and at another replica within its permission window", async () => {
    const here = await gateway({ permissionsCacheMs: LONG_WINDOW_MS });
    const replica = await gateway();
    const changer = await login(here, "viewer1", "viewer123");
    const sameGateway = await login(here, "viewer1", "viewer123");
    const atReplica = await login(replica, "viewer1", "viewer123");
    const unrelated = await login(replica, "trader1", "trader123");
    const subHere = await runningSubscription(wsClient(here, sameGateway.token));
    const subReplica = await runningSubscription(wsClient(replica, atReplica.token));
    // Warm the replica's permission cache, so the change must wait for its window there.
    expect((await rest(replica.url, "GET", "/api/v1/accounts", { token: atReplica.token })).status).toBe(200);

    const changed = await rest(here.url, "POST", "/api/v1/auth/change-password", {
      token: changer.token,
      body: { oldPassword: "viewer123", newPassword: "viewer456" },
    });
    expect(changed.body).toEqual({ changed: true });
    const changedAt = Date.now();
    cleanups.push(async () => {
      const t = await login(here, "viewer1", "viewer456");
      await rest(here.url, "POST", "/api/v1/auth/change-password", {
        token: t.token,
        body: { oldPassword: "viewer456", newPassword: "viewer123" },
      });
    });

    // Here: the sessions were revoked when the change succeeded, so the subscription ends
    // far within this gateway's (long) window: pushed by the change, not polled.
    await waitFor(() => subHere.errors.length > 0, "the subscription here to end");
    expect(messageOf(subHere.errors[0])).toBe("Token revoked: the password was changed");
    for (const token of [changer.token, sameGateway.token]) {
      const r = await rest(here.url, "GET", "/api/v1/accounts", { token });
      expect(r.status).toBe(401);
      expect(r.body.message).toBe("Token revoked: the password was changed");
    }
    const refresh = await rest(here.url, "POST", "/api/v1/auth/refresh", {
      body: { refreshToken: sameGateway.refreshToken },
    });
    expect(refresh.status).toBe(401);

    // The replica learns it from the backend's token version within its window, for calls and subscriptions.
    await waitFor(
      async () => (await rest(replica.url, "GET", "/api/v1/accounts", { token: atReplica.token })).status === 401,
      "the replica to refuse the old token",
    );
    await waitFor(() => subReplica.errors.length > 0, "the replica's subscription to end");
    const took = Date.now() - changedAt;
    // Within the window (one cache lifetime, then at most one poll), with slack for a shared machine.
    expect(took).toBeLessThan(2 * WINDOW_MS + 2000);
    expect(messageOf(subReplica.errors[0])).toBe("Token revoked: the password was changed");
    const replicaRefresh = await rest(replica.url, "POST", "/api/v1/auth/refresh", {
      body: { refreshToken: atReplica.refreshToken },
    });
    expect(replicaRefresh.status).toBe(401);
    // Another user is untouched; the new password logs in and works everywhere.
    expect((await rest(replica.url, "GET", "/api/v1/accounts", { token: unrelated.token })).status).toBe(200);
    const fresh = await login(replica, "viewer1", "viewer456");
    expect((await rest(replica.url, "GET", "/api/v1/accounts", { token: fresh.token })).status).toBe(200);
  });
});

describe("a WebSocket outlives its access token", () => {
  it("is asked to reconnect before the token expires, and its subscription carries on with a refreshed token", async () => {
    const g = await gateway({ jwtTtlSeconds: 2 });
    let tokens = await login(g, "trader1", "trader123");
    const issued = [tokens.token];
    const expOf = (token: string) =>
      (JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as { exp: number }).exp * 1000;
    const firstExpiry = expOf(tokens.token);
    // What the SDK does: a fresh pair once the access token is close to its end (here: under
    // 0.9 s of its 2 s left, ahead of the gateway's reconnect notice at 0.5 s before expiry).
    let refreshing = false;
    const refresher = setInterval(() => {
      if (refreshing || expOf(tokens.token) - Date.now() > 900) return;
      refreshing = true;
      void rest(g.url, "POST", "/api/v1/auth/refresh", { body: { refreshToken: tokens.refreshToken } }).then((r) => {
        refreshing = false;
        if (r.status !== 200) return;
        tokens = r.body as Tokens;
        issued.push(tokens.token);
      });
    }, 50);
    cleanups.push(() => clearInterval(refresher));
    const arrivals: number[] = [];
    const client = wsClient(g, () => tokens.token);
    const sub = collect((h) =>
      client.market.onTick.subscribe(
        { symbols: ["510500"] },
        {
          ...h,
          onData: (d) => {
            arrivals.push(Date.now());
            h.onData(d);
          },
        },
      ),
    );
    cleanups.push(sub.stop);
    // Ticks keep coming two token lifetimes after the first token expired, with no error.
    await waitFor(
      () => sub.errors.length > 0 || (arrivals.at(-1) ?? 0) > firstExpiry + 4000,
      "ticks two token lifetimes past the first token's expiry",
      20_000,
    );
    expect(sub.errors).toEqual([]);
    expect(issued.length).toBeGreaterThanOrEqual(3);
    // Event ids strictly increase: the moves between sockets neither lost nor repeated any.
    const ids = sub.data.map((d) => Number((d as { id: string }).id.split(".").at(-1)));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
  });
});

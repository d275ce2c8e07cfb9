// The SDK's session (createSession) against a real gateway whose access tokens live two
// seconds: HTTP calls and a running subscription carry on across many refreshes without
// the app doing anything; concurrent calls share one refresh; a revoked session ends
// with one onEnd; logout ends it at the gateway. The document's socket.io events, with the
// session's getToken as connectEvents' token, carry on across refreshes too.
import {
  type GatewayClient,
  type GatewayError,
  type SessionTokens,
  closeGatewayClient,
  createGatewayClient,
  createSession,
  login,
  toGatewayError,
} from "@desk/sdk";
import { connectEvents } from "@desk/sdk/events";
import { waitFor } from "@desk/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack } from "../src/stack.js";
import { until } from "../src/wait.js";

let stack: Stack;
const clients: GatewayClient[] = [];

beforeAll(async () => {
  stack = await startStack({ tickMs: 100, jwtTtlSeconds: 2 });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => closeGatewayClient(c)));
  await stack?.close();
});

async function sessionFor(username: string, password: string, onEnd?: (e: GatewayError) => void) {
  const refreshed: SessionTokens[] = [];
  const session = createSession(stack.url, await login(stack.url, username, password), {
    onRefresh: (t) => refreshed.push(t),
    ...(onEnd ? { onEnd } : {}),
  });
  const client = createGatewayClient({
    url: stack.url,
    session,
    reconnect: { baseMs: 100, maxMs: 500, jitterMs: 100 },
  });
  clients.push(client);
  return { session, client, refreshed };
}

describe("a session whose access tokens live two seconds", () => {
  it("keeps HTTP calls and a running subscription going across refreshes, by itself", async () => {
    const { client, refreshed, session } = await sessionFor("trader1", "trader123");
    const ticks: number[] = [];
    const errors: unknown[] = [];
    const sub = client.market.onTick.subscribe(
      { symbols: ["510500"] },
      { onData: () => ticks.push(Date.now()), onError: (e) => errors.push(e) },
    );
    try {
      const started = Date.now();
      // Calls spread over three token lifetimes, each with whatever token the session hands out.
      let calls = 0;
      await waitFor(
        async () => {
          const accounts = await client.account.list.query();
          expect(accounts.map((a) => a.id).sort()).toEqual(["account1", "account2"]);
          calls++;
          return Date.now() - started > 6_000;
        },
        "calls over three token lifetimes",
        30_000,
      );
      expect(calls).toBeGreaterThan(3);
      expect(refreshed.length).toBeGreaterThanOrEqual(3);
      await until(() => (ticks.at(-1) ?? 0) > started + 6_000, "ticks three token lifetimes later");
      expect(errors).toEqual([]);
      expect(session.ended).toBeNull();
    } finally {
      sub.unsubscribe();
    }
  });

  it("keeps a socket.io connection's updates going across refreshes (connectEvents with the session's getToken)", async () => {
    const { session, refreshed } = await sessionFor("trader1", "trader123");
    const socket = connectEvents(stack.url, () => session.getToken(), {
      reconnectionDelay: 50,
      transports: ["websocket"],
    });
    const ticks: Array<{ at: number; seq: number }> = [];
    const errors: unknown[] = [];
    const disconnects: string[] = [];
    socket.on("market:tick", (tick) => ticks.push({ at: Date.now(), seq: tick.seq }));
    socket.on("error", (error) => errors.push(error));
    socket.on("disconnect", (reason) => disconnects.push(reason));
    try {
      socket.emit("market:subscribe", { symbols: ["510500"] });
      await until(() => ticks.length > 0, "a first tick");
      const started = Date.now();
      const before = refreshed.length;
      await until(() => (ticks.at(-1)?.at ?? 0) > started + 6_000, "ticks three token lifetimes later", 30_000);
      expect(errors).toEqual([]);
      // The gateway closed the transport ahead of each expiry; the client came back with a fresh token.
      expect(disconnects.length).toBeGreaterThanOrEqual(2);
      expect(disconnects.every((reason) => reason === "transport close")).toBe(true);
      expect(refreshed.length - before).toBeGreaterThanOrEqual(2);
      // Recovered sessions: the ticks arrive in order, none twice.
      const seqs = ticks.map((t) => t.seq);
      expect(seqs).toEqual([...new Set(seqs)].sort((a, b) => a - b));
    } finally {
      socket.close();
    }
  });

  it("shares one refresh among concurrent calls (a second exchange of one refresh token would end the session)", async () => {
    const { client, refreshed, session } = await sessionFor("viewer1", "viewer123");
    // Inside the SDK's refresh window (the last half of the token's life), before its end.
    const left = () => session.tokens.receivedAt + session.tokens.expiresIn * 1000 - Date.now();
    await until(() => left() < (session.tokens.expiresIn * 1000) / 2 - 50, "the token to near its end");
    // Twenty callers at once (the batch link asks once per batch; these ask each on their own).
    const tokens = await Promise.all(Array.from({ length: 20 }, () => session.getToken()));
    expect(new Set(tokens).size).toBe(1);
    expect(refreshed).toHaveLength(1);
    const results = await Promise.all(Array.from({ length: 5 }, () => client.account.list.query()));
    expect(results.every((r) => r.length === 3)).toBe(true);
    expect(session.ended).toBeNull();
  });

  it("ends with one onEnd when the session is revoked (a password change), and calls are then unauthorized", async () => {
    const ends: GatewayError[] = [];
    const { client, session } = await sessionFor("admin", "admin123", (e) => ends.push(e));
    const other = await sessionFor("admin", "admin123");
    await other.client.auth.changePassword.mutate({ oldPassword: "admin123", newPassword: "admin456" });
    try {
      const err = await client.account.list.query().catch(toGatewayError);
      expect(err).toMatchObject({ kind: "unauthorized", message: "Token revoked: the password was changed" });
      await waitFor(
        async () => {
          await client.account.list.query().catch(() => undefined);
          return ends.length > 0;
        },
        "the session to end",
        15_000,
      );
      expect(ends).toHaveLength(1);
      expect(ends[0]).toMatchObject({ kind: "unauthorized" });
      expect(session.ended).toBe(ends[0]);
    } finally {
      const back = await sessionFor("admin", "admin456");
      await back.client.auth.changePassword.mutate({ oldPassword: "admin456", newPassword: "admin123" });
    }
  });

  it("logout ends it at the gateway", async () => {
    const { client, session } = await sessionFor("trader1", "trader123");
    const token = await session.getToken();
    await session.logout();
    expect(session.ended).toMatchObject({ kind: "unauthorized" });
    const direct = createGatewayClient({ url: stack.url, token: token ?? "" });
    clients.push(direct);
    expect(await direct.account.list.query().catch(toGatewayError)).toMatchObject({
      kind: "unauthorized",
      message: "Token revoked: logged out",
    });
    expect(await client.account.list.query().catch(toGatewayError)).toMatchObject({ kind: "unauthorized" });
  });
});

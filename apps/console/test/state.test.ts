import { describe, expect, it } from "vitest";
import { appendBounded, replaceById } from "../src/lib/collections";
import { positionSide, positionTotals } from "../src/lib/positions";
import { parseRoute, routeHash } from "../src/lib/route";
import {
  expiryDelay,
  isExpired,
  parseStoredSession,
  type Session,
  sessionFromLogin,
  signedOutMessage,
  withTokens,
} from "../src/lib/session";
import { createStore } from "../src/lib/store";
import { createTickBook } from "../src/lib/tick-book";
import type { MarketTick, Position } from "../src/lib/types";
import { marketSymbols } from "../src/lib/underlyings";

function tick(symbol: string, last: number, ts: string): MarketTick {
  return { kind: "underlying", seq: 1, ts, symbol, name: symbol, last, bid: last, ask: last, volume: 1, change: 0 };
}

describe("tick book", () => {
  it("keeps the latest quote and one chart point per second", () => {
    const book = createTickBook();
    expect(book.apply(tick("510500", 5.9, "2026-01-01T01:00:00.100Z"), 1)).toBe(true);
    book.apply(tick("510500", 5.91, "2026-01-01T01:00:00.900Z"), 2);
    book.apply(tick("510500", 5.92, "2026-01-01T01:00:01.000Z"), 3);
    expect(book.quote("510500")).toMatchObject({ receivedAt: 3, tick: { last: 5.92 } });
    const t0 = Date.parse("2026-01-01T01:00:00Z") / 1000;
    expect(book.history("510500")).toEqual([
      { time: t0, value: 5.91 },
      { time: t0 + 1, value: 5.92 },
    ]);
    expect(book.version).toBe(3);
  });

  it("refuses an older tick (a replay after a resume) and bounds the history", () => {
    const book = createTickBook(3);
    book.apply(tick("510050", 2.7, "2026-01-01T01:00:05Z"), 1);
    expect(book.apply(tick("510050", 2.6, "2026-01-01T01:00:04Z"), 2)).toBe(false);
    expect(book.quote("510050")?.tick.last).toBe(2.7);
    for (let s = 6; s < 12; s++) book.apply(tick("510050", s, `2026-01-01T01:00:${String(s).padStart(2, "0")}Z`), s);
    expect(book.history("510050").map((p) => p.value)).toEqual([9, 10, 11]);
    expect(book.history("unknown")).toEqual([]);
  });
});

describe("session", () => {
  const session: Session = {
    tokens: {
      token: "t",
      tokenType: "Bearer",
      expiresAt: "2026-01-01T00:05:00.000Z",
      expiresIn: 300,
      refreshToken: "r",
      refreshExpiresAt: "2026-01-01T08:00:00.000Z",
      receivedAt: 1_000,
    },
    expiresAt: 2_000,
    userId: "user-trader1",
    username: "trader1",
    displayName: "Trader One",
    role: "trader",
    permissions: ["account:read"],
  };

  it("round-trips through storage and refuses anything malformed", () => {
    expect(parseStoredSession(JSON.stringify(session))).toEqual(session);
    expect(parseStoredSession(null)).toBeNull();
    expect(parseStoredSession("{")).toBeNull();
    expect(parseStoredSession(JSON.stringify({ ...session, role: "root" }))).toBeNull();
    expect(parseStoredSession(JSON.stringify({ ...session, tokens: { ...session.tokens, token: "" } }))).toBeNull();
    expect(
      parseStoredSession(JSON.stringify({ ...session, tokens: { ...session.tokens, refreshToken: 1 } })),
    ).toBeNull();
    expect(parseStoredSession(JSON.stringify({ ...session, tokens: undefined }))).toBeNull();
    // A renewed pair replaces the stored one; the user and the session's end stay.
    const renewed = withTokens(session, { ...session.tokens, token: "t2", refreshToken: "r2", receivedAt: 1_500 });
    expect(parseStoredSession(JSON.stringify(renewed))).toEqual({ ...session, tokens: renewed.tokens });
    expect(parseStoredSession(JSON.stringify({ ...session, expiresAt: "soon" }))).toBeNull();
    expect(parseStoredSession(JSON.stringify({ ...session, permissions: [1] }))).toBeNull();
  });

  it("ends with its refresh token, not with the first access token", () => {
    const fromLogin = sessionFromLogin(
      {
        token: "a",
        tokenType: "Bearer",
        expiresAt: "2026-01-01T00:05:00.000Z",
        expiresIn: 300,
        refreshToken: "r",
        refreshExpiresAt: "2026-01-01T08:00:00.000Z",
        user: { id: "user-trader1", username: "trader1", displayName: "Trader One", role: "trader", active: true },
        permissions: ["account:read"],
      },
      42,
    );
    expect(fromLogin.expiresAt).toBe(Date.parse("2026-01-01T08:00:00.000Z"));
    expect(fromLogin.tokens).toMatchObject({ token: "a", refreshToken: "r", receivedAt: 42 });
  });

  it("knows when it ends", () => {
    expect(isExpired(session, 1_999)).toBe(false);
    expect(isExpired(session, 2_000)).toBe(true);
    expect(expiryDelay(session, 500)).toBe(1_500);
    expect(expiryDelay(session, 5_000)).toBe(0);
    expect(expiryDelay({ ...session, expiresAt: 10 ** 13 }, 0)).toBe(2 ** 31 - 1);
    expect(signedOutMessage("logout")).toBeNull();
    expect(signedOutMessage("expired")).toBe("Your session expired. Log in again to continue.");
  });
});

describe("small helpers", () => {
  it("patches cached lists by id", () => {
    const list = [
      { id: "a", v: 1 },
      { id: "b", v: 1 },
    ];
    expect(replaceById(list, { id: "b", v: 2 })).toEqual([
      { id: "a", v: 1 },
      { id: "b", v: 2 },
    ]);
    expect(replaceById(list, { id: "c", v: 1 })).toHaveLength(3);
    expect(replaceById(undefined, { id: "a", v: 1 })).toEqual([{ id: "a", v: 1 }]);
  });

  it("bounds logs and skips replays", () => {
    const same = (x: number, y: number) => x === y;
    expect(appendBounded([1, 2, 3], 4, 3, same)).toEqual([2, 3, 4]);
    expect(appendBounded([1, 2], 2, 3, same)).toEqual([1, 2]);
  });

  it("adds positions' greeks and net quantity", () => {
    const p = (quantity: number, delta: number) =>
      ({ quantity, pnl: 10, greeks: { delta, gamma: 1, vega: -2, theta: 3 } }) as unknown as Position;
    expect(positionTotals([p(-40, 100), p(25, -50)])).toEqual({
      quantity: -15,
      pnl: 20,
      delta: 50,
      gamma: 2,
      vega: -4,
      theta: 6,
    });
    expect([positionSide(-1), positionSide(0), positionSide(2)]).toEqual(["short", "flat", "long"]);
  });

  it("routes by hash", () => {
    expect(parseRoute("#positions/account2")).toEqual({ screen: "positions", account: "account2" });
    expect(parseRoute("#market")).toEqual({ screen: "market", account: null });
    expect(parseRoute("#nowhere")).toEqual({ screen: "accounts", account: null });
    expect(parseRoute("")).toEqual({ screen: "accounts", account: null });
    expect(routeHash({ screen: "positions", account: "a b" })).toBe("#positions/a%20b");
  });

  it("subscribes the underlyings and held contracts once each", () => {
    const s = marketSymbols([
      { code: "2", underlying: "510500" },
      { code: "1", underlying: "159922" },
      { code: "2", underlying: "510500" },
    ]);
    expect(s.contracts).toEqual(["1", "2"]);
    expect(s.underlyings).toEqual(["510050", "510300", "510500", "159915", "159922"]);
  });

  it("notifies store listeners on change only", () => {
    const store = createStore(1);
    let calls = 0;
    const off = store.subscribe(() => calls++);
    store.set(1);
    store.set(2);
    off();
    store.set(3);
    expect([calls, store.get()]).toEqual([1, 3]);
  });
});

import { SignJWT } from "jose";
import superjson from "superjson";
import { describe, expect, it } from "vitest";
import { createJwt, TokenError } from "../src/auth/jwt.js";
import { transformer } from "../src/transformer.js";

const secret = "s".repeat(32);
const user = { userId: "user-trader1", username: "trader1", role: "trader", sessionId: "s1", tokenVersion: 3 };

async function reason(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TokenError);
  return (err as TokenError).reason;
}

describe("JWT verification with the verified-token cache", () => {
  it("a remembered token still expires on the clock, exactly at exp", async () => {
    let clock = Date.UTC(2026, 10, 25, 9, 30);
    const jwt = createJwt({ secret, ttlSeconds: 60, now: () => clock });
    const { token } = await jwt.sign(user);
    expect((await jwt.verify(token)).userId).toBe("user-trader1");
    expect((await jwt.verify(token)).userId).toBe("user-trader1"); // from the cache
    clock += 59_000;
    expect((await jwt.verify(token)).username).toBe("trader1");
    clock += 1_000;
    expect(await reason(jwt.verify(token))).toBe("expired");
    expect(await reason(jwt.verify(token))).toBe("expired"); // forgotten, then refused by jose too
  });

  it("refuses what was never verified: another key, a tampered payload, alg none, garbage", async () => {
    const jwt = createJwt({ secret, ttlSeconds: 60 });
    const other = createJwt({ secret: "o".repeat(32), ttlSeconds: 60 });
    const { token } = await other.sign(user);
    expect(await reason(jwt.verify(token))).toBe("invalid");

    const mine = (await jwt.sign(user)).token;
    await jwt.verify(mine); // cached: a tampered copy is a different text
    const [h, p, s] = mine.split(".") as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, "base64url").toString()) as Record<string, unknown>;
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, role: "admin" })).toString("base64url")}.${s}`;
    expect(await reason(jwt.verify(forged))).toBe("invalid");

    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString("base64url")}.${p}.`;
    expect(await reason(jwt.verify(none))).toBe("invalid");
    expect(await reason(jwt.verify("not.a.jwt"))).toBe("invalid");
    expect(await reason(jwt.verify(undefined))).toBe("missing");
  });

  it("a token with another algorithm or issuer is refused even with the right key", async () => {
    const jwt = createJwt({ secret, ttlSeconds: 60 });
    const key = new TextEncoder().encode(secret);
    const hs512 = await new SignJWT({ username: "x", role: "admin" })
      .setProtectedHeader({ alg: "HS512" })
      .setSubject("user-admin")
      .setIssuer("desk-gateway")
      .setExpirationTime("1h")
      .sign(key);
    expect(await reason(jwt.verify(hs512))).toBe("invalid");
    const otherIssuer = await new SignJWT({ username: "x", role: "admin" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("user-admin")
      .setIssuer("someone-else")
      .setExpirationTime("1h")
      .sign(key);
    expect(await reason(jwt.verify(otherIssuer))).toBe("invalid");
  });

  it("access and refresh tokens never pass for each other", async () => {
    const jwt = createJwt({ secret, ttlSeconds: 60 });
    const { token, expiresIn } = await jwt.sign(user);
    expect(expiresIn).toBeGreaterThan(59);
    expect(expiresIn).toBeLessThanOrEqual(60);
    const claims = await jwt.verify(token);
    expect(claims).toMatchObject({ sessionId: "s1", tokenVersion: 3 });
    const refresh = await jwt.signRefresh({
      userId: user.userId,
      sessionId: "s1",
      generation: 2,
      exp: Math.floor(Date.now() / 1000) + 3600,
    });
    expect(await jwt.verifyRefresh(refresh)).toMatchObject({ sessionId: "s1", generation: 2 });
    expect(await reason(jwt.verify(refresh))).toBe("invalid");
    expect(await reason(jwt.verifyRefresh(token))).toBe("invalid");
    // A token of the old kind (no audience), signed with the right key, is refused too.
    const legacy = await new SignJWT({ username: "trader1", role: "trader" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("user-trader1")
      .setIssuer("desk-gateway")
      .setIssuedAt()
      .setExpirationTime("1h")
      .sign(new TextEncoder().encode(secret));
    expect(await reason(jwt.verify(legacy))).toBe("invalid");
  });

  it("an access token never outlives its session", async () => {
    const clock = Date.UTC(2026, 10, 25, 9, 30);
    const jwt = createJwt({ secret, ttlSeconds: 300, now: () => clock });
    const { expiresIn, expiresAt } = await jwt.sign({ ...user, notAfter: clock / 1000 + 42 });
    expect(expiresIn).toBe(42);
    expect(expiresAt.getTime()).toBe(clock + 42_000);
  });

  it("stays bounded: beyond cacheEntries the oldest are forgotten and simply verified again", async () => {
    const jwt = createJwt({ secret, ttlSeconds: 60, cacheEntries: 2 });
    const tokens = await Promise.all(["a", "b", "c"].map((u) => jwt.sign({ ...user, userId: u })));
    for (const { token } of tokens) await jwt.verify(token);
    for (const { token } of tokens) expect((await jwt.verify(token)).role).toBe("trader");
  });
});

describe("the wire transformer's plain-JSON fast path", () => {
  it("refuses input nested deeper than 400 levels, whatever the branch, without overflowing", () => {
    const nest = (depth: number, leaf: unknown = 1): unknown => {
      let value = leaf;
      for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { k: value };
      return value;
    };
    expect(() => transformer.deserialize({ json: nest(399) })).not.toThrow();
    expect(() => transformer.deserialize({ json: nest(401) })).toThrow(/deeper than 400/);
    expect(() => transformer.deserialize({ json: { a: 1, b: [nest(100_000)] } })).toThrow(/deeper than 400/);
    expect(() => transformer.deserialize({ json: {}, meta: { values: nest(100_000) } })).toThrow(/deeper than 400/);
  });

  const shared = { a: 1 };
  const cases: [string, unknown][] = [
    ["plain reply", { id: "account1", balance: 10_355_335.5, enabled: true, tags: ["a", "b"], nested: { x: null } }],
    ["array of objects", [{ a: 1 }, { a: 2 }]],
    ["empty object and array", { o: {}, a: [] }],
    ["string", "双卖 500 当月 万1 的v"],
    ["Date", { at: new Date("2026-11-25T01:00:00Z") }],
    ["Map and Set", { m: new Map([["k", 1]]), s: new Set([1, 2]) }],
    ["undefined field", { a: undefined, b: 1 }],
    ["NaN and -0 and Infinity", [Number.NaN, -0, Number.POSITIVE_INFINITY]],
    ["bigint", { n: 2n ** 70n }],
    ["shared reference", { x: shared, y: shared }],
    ["sparse array", Object.assign(new Array(3), { 0: 1, 2: 3 })],
    ["null-prototype object", Object.assign(Object.create(null), { a: 1 })],
  ];

  it.each(cases)("%s: same wire text as superjson and the same value back", (_name, value) => {
    const fast = transformer.serialize(value);
    const reference = superjson.serialize(value);
    expect(JSON.stringify(fast)).toBe(JSON.stringify(reference));
    const back = transformer.deserialize(JSON.parse(JSON.stringify(fast)));
    expect(back).toEqual(superjson.deserialize(JSON.parse(JSON.stringify(reference))));
  });

  it("a __proto__ key is left to superjson, which refuses it as before", () => {
    const hostile = JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}') as unknown;
    expect(() => superjson.serialize(hostile)).toThrow(/prototype pollution/);
    expect(() => transformer.serialize(hostile)).toThrow(/prototype pollution/);
  });

  it("leaves no prototype pollution behind", () => {
    transformer.deserialize(JSON.parse('{"json": {"__proto__": {"polluted": true}}}'));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

import { describe, expect, it } from "vitest";
import { ReplyCache } from "../src/reply-cache.js";

const reply = (s: string): Uint8Array => Buffer.from(s);

describe("ReplyCache", () => {
  it("answers a repeated id until its ttl has passed, then forgets it", () => {
    const cache = new ReplyCache(10, 1000);
    cache.set("a", reply("A"), 0);
    expect(String(cache.get("a", 1000))).toBe("A"); // exactly ttl old: still there
    expect(cache.get("a", 1001)).toBeUndefined();
    expect(cache.size).toBe(0); // an expired entry is dropped when it is looked up
  });

  it("keeps at most maxSize entries, evicting the oldest first", () => {
    const cache = new ReplyCache(3, 60_000);
    for (const id of ["a", "b", "c", "d"]) cache.set(id, reply(id), 0);
    expect(cache.size).toBe(3);
    expect(cache.get("a", 1)).toBeUndefined();
    expect(["b", "c", "d"].map((id) => String(cache.get(id, 1)))).toEqual(["b", "c", "d"]);
  });

  it("setting an id again makes it the youngest: it survives the next eviction", () => {
    const cache = new ReplyCache(2, 60_000);
    cache.set("a", reply("A1"), 0);
    cache.set("b", reply("B"), 1);
    cache.set("a", reply("A2"), 2);
    cache.set("c", reply("C"), 3);
    expect(cache.get("b", 4)).toBeUndefined();
    expect(String(cache.get("a", 4))).toBe("A2");
  });

  it("purge drops every expired entry and stops at the first live one", () => {
    const cache = new ReplyCache(10, 100);
    cache.set("old1", reply("1"), 0);
    cache.set("old2", reply("2"), 50);
    cache.set("new", reply("3"), 200);
    cache.purge(201);
    expect(cache.size).toBe(1);
    expect(String(cache.get("new", 201))).toBe("3");
  });
});

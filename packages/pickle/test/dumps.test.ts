import { describe, expect, it } from "vitest";
import { PickleError, dumps, loads } from "./exports.js";
import { frame, runPython, unframe } from "./oracle.js";

describe("dumps output buffers and memo", () => {
  it("never changes a pickle it returned, across arenas, big pickles and failed calls", () => {
    const kept: { bytes: Buffer; copy: Buffer }[] = [];
    const keep = (b: Buffer) => kept.push({ bytes: b, copy: Buffer.from(b) });
    for (let i = 0; i < 2000; i++) {
      keep(dumps({ i, s: "x".repeat(i % 300), list: [i, -i, i / 3] }));
      if (i % 97 === 0) keep(dumps(Array.from({ length: 5000 }, (_, k) => `v${k + i}`))); // > one arena
      if (i % 101 === 0) expect(() => dumps([1, 2, () => 3])).toThrow(PickleError); // fails mid-write
    }
    for (const { bytes, copy } of kept) expect(bytes.equals(copy)).toBe(true);
    expect(loads(kept[1]!.bytes)).toEqual(Array.from({ length: 5000 }, (_, k) => `v${k}`));
  });

  it("writes records whose items cross the end of the buffer as CPython reads them", () => {
    const records = Array.from({ length: 700 }, (_, i) => ({
      accountId: "account1",
      symbol: `${10007000 + i}`,
      name: i % 5 === 0 ? "期权".repeat(i % 40) : "n".repeat(i % 90), // short, long, non-ASCII
      direction: i % 3 ? "long" : "short",
      volume: i * 37 - 5000,
      big: i % 7 === 0 ? 2 ** 40 + i : i,
      price: i / 7,
      flag: i % 2 === 0,
      note: null,
      ["a key longer than 85 UTF-16 units, which takes the general str path".padEnd(90, ".")]: i / 3,
    }));
    // Each pickle starts at another offset of a part-used arena, so the buffer grows at
    // every point of an item (between key and value, inside a str...) in one of them.
    const pickles: Buffer[] = [];
    for (let shift = 0; shift < 320; shift++) {
      for (let i = 0; i < 150; i++) dumps({ pad: "x".repeat(400 + shift) });
      pickles.push(dumps(records));
    }
    const out = unframe(
      runPython(
        `import json\nfor b in frames():\n    emit(json.dumps(pickle.loads(b), ensure_ascii=False).encode())`,
        frame(pickles),
      ),
    );
    expect(out).toHaveLength(pickles.length);
    for (const json of out) expect(JSON.parse(String(json))).toEqual(records);
  });

  it("finds a container written before past the 32 the linear memo holds (shared and recursive)", () => {
    const items: unknown[][] = Array.from({ length: 100 }, (_, i) => [i]);
    const value = [...items, items[50], items[3]];
    items[70]!.push(items[70]);
    const [out] = unframe(
      runPython(
        `for b in frames():\n    v = pickle.loads(b)\n    emit(repr([v[100] is v[50], v[101] is v[3], v[70][1] is v[70], len(v)]).encode())`,
        frame([dumps(value)]),
      ),
    );
    expect(String(out)).toBe("[True, True, True, 102]");
  });
});

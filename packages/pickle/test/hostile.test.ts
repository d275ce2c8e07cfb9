import { describe, expect, it } from "vitest";
import { type LoadOptions, PickleError, type PickleErrorCode, dumps, loads } from "./exports.js";
import { frame, runPython, unframe } from "./oracle.js";
import { refusal } from "./refusal.js";

const P4 = [0x80, 0x04];
const b = (...parts: (number[] | string | Buffer)[]): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "latin1") : Buffer.from(p))));
const u32 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
const u64 = (hi: number, lo: number): number[] => [...u32(lo), ...u32(hi)];
const short = (s: string): number[] => [0x8c, Buffer.byteLength(s), ...Buffer.from(s)];

interface Case {
  name: string;
  data: Buffer;
  code: PickleErrorCode;
  options?: LoadOptions;
  global?: { module: string; name: string };
}

const cases: Case[] = [
  { name: "empty input", data: b([]), code: "TRUNCATED" },
  { name: "PROTO only", data: b(P4), code: "TRUNCATED" },
  { name: "string cut short", data: b(P4, [0x8c, 5], "ab"), code: "TRUNCATED" },
  { name: "BININT cut short", data: b(P4, [0x4a, 1, 2]), code: "TRUNCATED" },
  { name: "no STOP", data: b(P4, [0x4e]), code: "TRUNCATED" },
  { name: "unknown opcode 0xff", data: b(P4, [0xff]), code: "BAD_OPCODE" },
  { name: "unknown opcode 0x00", data: b([0x00]), code: "BAD_OPCODE" },
  { name: "protocol 6", data: b([0x80, 6, 0x4e, 0x2e]), code: "UNSUPPORTED" },
  { name: "BINUNICODE8 declaring 2^62 bytes", data: b(P4, [0x8d], u64(0x40000000, 0), "abc."), code: "TRUNCATED" },
  { name: "BINBYTES8 declaring 2^53 bytes", data: b(P4, [0x8e], u64(0x200000, 0), "."), code: "TRUNCATED" },
  { name: "BINBYTES declaring 4 GiB", data: b(P4, [0x42], u32(0xffffffff), "x."), code: "TRUNCATED" },
  { name: "BINUNICODE declaring 2 GiB", data: b(P4, [0x58], u32(0x7fffffff), "x."), code: "TRUNCATED" },
  { name: "BYTEARRAY8 declaring 1 TiB", data: b([0x80, 5, 0x96], u64(256, 0), "."), code: "TRUNCATED" },
  { name: "FRAME larger than the stream", data: b(P4, [0x95], u64(0, 1 << 30), [0x4e, 0x2e]), code: "TRUNCATED" },
  { name: "LONG4 of 2 GiB", data: b(P4, [0x8b], u32(0x7fffffff), "."), code: "LIMIT_EXCEEDED" },
  { name: "LONG4 negative length", data: b(P4, [0x8b], u32(0xffffffff), "."), code: "MALFORMED" },
  { name: "BINSTRING negative length", data: b([0x80, 2, 0x54], u32(0xfffffff0), "."), code: "MALFORMED" },
  { name: "invalid UTF-8", data: b(P4, [0x8c, 2, 0xc3, 0x28, 0x2e]), code: "MALFORMED" },
  { name: "BINGET of an empty memo", data: b(P4, [0x68, 3, 0x2e]), code: "MALFORMED" },
  { name: "LONG_BINGET 2^32-1", data: b(P4, [0x4e, 0x6a], u32(0xffffffff), "."), code: "MALFORMED" },
  {
    name: "LONG_BINPUT at 2^32-1 (memo abuse)",
    data: b(P4, [0x4e, 0x72], u32(0xffffffff), "."),
    code: "LIMIT_EXCEEDED",
  },
  {
    name: "MEMOIZE past maxMemo",
    data: b(P4, [0x4e], Array(20).fill(0x94), "."),
    code: "LIMIT_EXCEEDED",
    options: { maxMemo: 10 },
  },
  { name: "MEMOIZE on an empty stack", data: b(P4, [0x94, 0x2e]), code: "MALFORMED" },
  {
    name: "str + MEMOIZE past maxMemo (the step that takes both)",
    data: b(P4, [0x28], ...Array.from({ length: 5 }, () => [...short("a"), 0x94]), [0x6c, 0x2e]),
    code: "LIMIT_EXCEEDED",
    options: { maxMemo: 3 },
  },
  {
    name: "EMPTY_DICT MEMOIZE MARK past maxMemo",
    data: b(P4, [0x28], ...Array.from({ length: 5 }, () => [0x7d, 0x94]), [0x6c, 0x2e]),
    code: "LIMIT_EXCEEDED",
    options: { maxMemo: 3 },
  },

  { name: "100k nested MARKs", data: b(P4, Array(100_000).fill(0x28), "."), code: "LIMIT_EXCEEDED" },
  { name: "2M empty lists on the stack", data: b(P4, Buffer.alloc(2_000_000, 0x5d), "."), code: "LIMIT_EXCEEDED" },
  {
    name: "1,001 empty dicts with maxContainers 1000",
    data: b(P4, Buffer.alloc(1001, 0x7d), "."),
    code: "LIMIT_EXCEEDED",
    options: { maxContainers: 1000 },
  },
  { name: "input over maxBytes", data: b(P4, [0x4e, 0x2e]), code: "LIMIT_EXCEEDED", options: { maxBytes: 3 } },
  { name: "APPEND on an empty stack", data: b(P4, [0x61, 0x2e]), code: "MALFORMED" },
  { name: "APPEND to a dict", data: b(P4, [0x7d, 0x4e, 0x61, 0x2e]), code: "MALFORMED" },
  { name: "SETITEMS with an odd count", data: b(P4, [0x7d, 0x28, 0x4e, 0x75, 0x2e]), code: "MALFORMED" },
  { name: "SETITEMS into a list", data: b(P4, [0x5d, 0x28, 0x4e, 0x4e, 0x75, 0x2e]), code: "MALFORMED" },
  { name: "APPENDS without MARK", data: b(P4, [0x5d, 0x65, 0x2e]), code: "MALFORMED" },
  { name: "TUPLE popping below its MARK", data: b(P4, [0x4e, 0x28, 0x86, 0x2e]), code: "MALFORMED" },
  { name: "STOP with two values", data: b(P4, [0x4e, 0x4e, 0x2e]), code: "MALFORMED" },
  { name: "STOP with an open MARK", data: b(P4, [0x28, 0x4e, 0x2e]), code: "MALFORMED" },
  { name: "REDUCE on a list", data: b(P4, [0x5d, 0x29, 0x52, 0x2e]), code: "MALFORMED" },
  { name: "BUILD on a dict", data: b(P4, [0x7d, 0x7d, 0x62, 0x2e]), code: "MALFORMED" },
  { name: "STACK_GLOBAL of non-strings", data: b(P4, [0x4b, 1, 0x4b, 2, 0x93, 0x2e]), code: "MALFORMED" },
  { name: "persistent id", data: b(P4, [0x4e, 0x51, 0x2e]), code: "UNSUPPORTED" },
  { name: "copyreg extension", data: b(P4, [0x82, 1, 0x2e]), code: "UNSUPPORTED" },
  { name: "out-of-band buffer", data: b([0x80, 5, 0x97, 0x2e]), code: "UNSUPPORTED" },
  // Code execution gadgets: refused at the GLOBAL, before any REDUCE.
  {
    name: "os.system via GLOBAL + REDUCE",
    data: b("cos\nsystem\n(S'echo pwned'\ntR."),
    code: "FORBIDDEN_GLOBAL",
    global: { module: "os", name: "system" },
  },
  {
    name: "posix.system via STACK_GLOBAL",
    data: b(P4, short("posix"), short("system"), [0x93], short("id"), [0x85, 0x52, 0x2e]),
    code: "FORBIDDEN_GLOBAL",
    global: { module: "posix", name: "system" },
  },
  {
    name: "builtins.eval",
    data: b(P4, short("builtins"), short("eval"), [0x93], short("1"), [0x85, 0x52, 0x2e]),
    code: "FORBIDDEN_GLOBAL",
    global: { module: "builtins", name: "eval" },
  },
  {
    name: "subprocess.Popen",
    data: b("csubprocess\nPopen\n(S'ls'\ntR."),
    code: "FORBIDDEN_GLOBAL",
    global: { module: "subprocess", name: "Popen" },
  },
  { name: "builtins.__import__", data: b("c__builtin__\n__import__\n(S'os'\ntR."), code: "FORBIDDEN_GLOBAL" },
  {
    name: "getattr(builtins.dict, 'fromkeys') (only the zoneinfo form is allowed)",
    data: b(P4, short("builtins"), short("getattr"), [0x93], short("builtins"), short("dict"), [0x93]),
    code: "FORBIDDEN_GLOBAL",
  },
  {
    name: "getattr(zoneinfo.ZoneInfo, '__init_subclass__')",
    data: b(
      P4,
      short("builtins"),
      short("getattr"),
      [0x93],
      short("zoneinfo"),
      short("ZoneInfo"),
      [0x93],
      short("__init_subclass__"),
      [0x86, 0x52, 0x2e],
    ),
    code: "FORBIDDEN_GLOBAL",
    global: { module: "builtins", name: "getattr" },
  },
  {
    name: "getattr(datetime.datetime, 'fromtimestamp') (an allowed class, but no `member`)",
    data: b(
      P4,
      short("builtins"),
      short("getattr"),
      [0x93],
      short("datetime"),
      short("datetime"),
      [0x93],
      short("fromtimestamp"),
      [0x86, 0x52, 0x4b, 0, 0x85, 0x52, 0x2e],
    ),
    code: "FORBIDDEN_GLOBAL",
    global: { module: "builtins", name: "getattr" },
  },
  {
    name: "datetime with globals: {}",
    data: b(P4, short("datetime"), short("datetime"), [0x93, 0x2e]),
    code: "FORBIDDEN_GLOBAL",
    options: { globals: {} },
  },
  {
    name: "datetime with a bad state",
    data: b(P4, short("datetime"), short("datetime"), [0x93, 0x43, 2, 1, 2, 0x85, 0x52, 0x2e]),
    code: "MALFORMED",
  },
  {
    name: "an allowed class used with NEWOBJ",
    data: b(P4, short("decimal"), short("Decimal"), [0x93, 0x29, 0x81, 0x2e]),
    code: "FORBIDDEN_GLOBAL",
  },
];

describe("hostile streams are refused with a typed error", () => {
  for (const c of cases) {
    it(`${c.name} -> ${c.code}`, () => {
      const err = refusal(c.data, c.options);
      expect(err.code).toBe(c.code);
      if (c.global) expect(err.global).toEqual(c.global);
    });
  }

  it("names the refused global in the message", () => {
    const err = refusal(b("cos\nsystem\n(S'echo pwned'\ntR."));
    expect(err.message).toContain("os.system");
  });

  it("refuses every truncation of a real CPython pickle with TRUNCATED (never a crash)", () => {
    const [full] = unframe(
      runPython(
        `import datetime, decimal\nemit(pickle.dumps([{"a": (1, 2.5, "é" * 30)}, b"x" * 300, -2**70, {1, 2}, datetime.datetime(2024, 1, 2), decimal.Decimal("1.5")], protocol=4))`,
      ),
    );
    expect(loads(full!)).toBeDefined();
    for (let n = 0; n < full!.length; n++) {
      const err = refusal(full!.subarray(0, n));
      expect(err.code).toBe("TRUNCATED");
    }
  });

  it("survives random byte flips with PickleErrors only", () => {
    const base = dumps([{ symbol: "510050", price: 2.5, qty: 10, when: new Date(0), tags: new Set(["a"]) }]);
    let seed = 42;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let i = 0; i < 3000; i++) {
      const m = Buffer.from(base);
      for (let k = 0; k <= rand(3); k++) m[rand(m.length)] = rand(256);
      try {
        loads(m);
      } catch (e) {
        expect(e).toBeInstanceOf(PickleError);
      }
    }
  });

  it("builds dicts without a prototype, so __proto__ keys cannot reshape anything", () => {
    const [data] = unframe(
      runPython(`emit(pickle.dumps({"__proto__": {"polluted": True}, "constructor": 1, "toString": 2}, protocol=4))`),
    );
    const got = loads(data!) as Record<string, unknown>;
    expect(Object.getPrototypeOf(got)).toBeNull();
    expect(Object.keys(got)).toEqual(["__proto__", "constructor", "toString"]);
    expect(Object.getPrototypeOf(got.__proto__ as object)).toBeNull();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(got.constructor).toBe(1);
  });

  it("decodes a non-str-keyed dict referenced before it is complete (d = {}; d[1] = d)", () => {
    // The object d starts as is handed out (memo) before its first int key makes it a
    // Map: every reference is pointed at the Map.
    const [data] = unframe(runPython(`d = {"a": 0}\nd[1] = [d]\nd["b"] = d\nemit(pickle.dumps([d, d], protocol=4))`));
    const [m, same] = loads(data!) as [Map<unknown, unknown>, unknown];
    expect(m).toBeInstanceOf(Map);
    expect(same).toBe(m);
    expect([...m.keys()]).toEqual(["a", 1, "b"]);
    expect((m.get(1) as unknown[])[0]).toBe(m);
    expect(m.get("b")).toBe(m);
    const viaMap = loads(data!, { dicts: "map" }) as [Map<unknown, unknown>];
    expect(viaMap[0].get("b")).toBe(viaMap[0]);
  });

  it("keeps the CPython helper's restricted unpickler as strict (os.system refused by CPython too)", () => {
    const script = `
import pickle_helper, json
for b in frames():
    try:
        pickle_helper.handle(0x44, b)
        emit(b"ACCEPTED")
    except pickle_helper.HelperError as e:
        emit(json.dumps(e.payload()).encode())
`;
    const hostile = cases.filter((c) => c.code === "FORBIDDEN_GLOBAL" && c.global).map((c) => c.data);
    const out = unframe(runPython(script, frame(hostile)));
    expect(out.length).toBe(hostile.length);
    for (const r of out) expect(JSON.parse(r.toString()).code).toBe("FORBIDDEN_GLOBAL");
  });
});

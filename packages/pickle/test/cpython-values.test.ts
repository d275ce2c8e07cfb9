/**
 * Values CPython writes that once came back wrong, each decoded from streams CPython
 * itself writes here (every protocol unless the case is protocol-specific), the expected
 * value computed by CPython, and written back for CPython to compare.
 */
import { describe, expect, it } from "vitest";
import { PickleError, dumps, fromTaggedForTests, isFrozenSet, loads } from "./exports.js";
import { canon, frame, runPython, unframe } from "./oracle.js";
import { refusal } from "./refusal.js";

/** Python builds `VALUES` (a list); emits, per value: tagged JSON of it, then its pickle at each protocol. */
function cpython(values: string, protocols = [0, 1, 2, 3, 4, 5]): { want: unknown; streams: Buffer[] }[] {
  const out = unframe(
    runPython(`
import json, datetime, zoneinfo, pickle_helper
VALUES = ${values}
for v in VALUES:
    emit(json.dumps(pickle_helper.to_tagged(v)).encode())
    for proto in ${JSON.stringify(protocols)}:
        emit(pickle.dumps(v, protocol=proto))
`),
  );
  const per = protocols.length + 1;
  const cases: { want: unknown; streams: Buffer[] }[] = [];
  for (let i = 0; i < out.length; i += per) {
    cases.push({
      want: fromTaggedForTests(JSON.parse(out[i]!.toString("utf8"))),
      streams: out.slice(i + 1, i + per),
    });
  }
  return cases;
}

/** CPython loads each of our streams and says whether it equals VALUES[i] (== and same types, recursively). */
function cpythonAgrees(values: string, ours: Buffer[]): string[] {
  return unframe(
    runPython(
      `
import datetime, zoneinfo
VALUES = ${values}
def same(a, b):
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return a == b
for i, b in enumerate(frames()):
    got = pickle.loads(b)
    emit(b"ok" if same(got, VALUES[i % len(VALUES)]) else repr(got).encode())
`,
      frame(ours),
    ),
  ).map(String);
}

describe("str starting with U+FEFF (TextDecoder used to drop it)", () => {
  const VALUES = `["\\ufeff", "\\ufeffa", "\\ufeff" * 40, {"\\ufeffk": "\\ufeffv"}, {"\\ufeff", "\\ufeffx"}, ["\\ufeff中", "\\ufeff\\U0001f600"]]`;

  it("decodes at every protocol, also as dict keys and set items", () => {
    for (const { want, streams } of cpython(VALUES)) {
      for (const s of streams) expect(canon(loads(s))).toEqual(canon(want));
    }
    // The issue's own bytes.
    expect(loads(Buffer.from("80049507000000000000008c03efbbbf942e", "hex"))).toBe("\ufeff");
  });

  it("comes back to CPython unchanged", () => {
    const streams = cpython(VALUES, [4]).map((c) => c.streams[0]!);
    expect(
      cpythonAgrees(
        VALUES,
        streams.map((s) => dumps(loads(s))),
      ),
    ).toEqual(streams.map(() => "ok"));
  });
});

describe("frozenset inside a set or as a dict key (came back as a set, which CPython cannot hash)", () => {
  const VALUES = `[{frozenset()}, {frozenset([1, frozenset([2])]): "v"}, frozenset([frozenset(), (1, frozenset([3]))]), [frozenset(["a"])], {(1, frozenset([2])): 0}]`;

  it("decodes to Sets marked as frozensets at every protocol", () => {
    for (const { want, streams } of cpython(VALUES)) {
      for (const s of streams) expect(canon(loads(s))).toEqual(canon(want));
    }
    const [inner] = loads(Buffer.from("80049508000000000000008f9428289194902e", "hex")) as Set<Set<unknown>>;
    expect(isFrozenSet(inner)).toBe(true);
  });

  it("is written back as frozenset, so CPython loads the same value", () => {
    for (const proto of [0, 2, 4]) {
      const streams = cpython(VALUES, [proto]).map((c) => c.streams[0]!);
      const ours = streams.map((s) => dumps(loads(s, { tuples: "tuple" })));
      expect(cpythonAgrees(VALUES, ours)).toEqual(streams.map(() => "ok"));
    }
  });
});

describe("zone-aware datetimes in years 1-99 (Date.UTC read them as 1900-1999)", () => {
  const VALUES = `[datetime.datetime(y, m, d, h, tzinfo=zoneinfo.ZoneInfo(z))
    for y in (1, 2, 50, 99, 100, 1883, 1900, 2024, 9999)
    for (m, d, h) in ((1, 1, 0), (6, 15, 12), (12, 31, 23))
    for z in ("Asia/Shanghai", "America/New_York", "Europe/London")]`;

  it("decodes to the instant CPython computes, at every protocol", () => {
    const out = unframe(
      runPython(`
import datetime, zoneinfo, json
VALUES = ${VALUES}
epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
emit(json.dumps([(v - epoch) // datetime.timedelta(milliseconds=1) for v in VALUES]).encode())
for v in VALUES:
    for proto in range(6):
        emit(pickle.dumps(v, protocol=proto))
`),
    );
    const instants = JSON.parse(out[0]!.toString()) as number[];
    for (let i = 0; i < instants.length; i++) {
      for (let p = 0; p < 6; p++) {
        expect({ i, p, ms: (loads(out[1 + i * 6 + p]!) as Date).getTime() }).toEqual({ i, p, ms: instants[i] });
      }
    }
  });

  it("encodes back (the UTC instant of year 1 in UTC+8 is in year 0) to an equal datetime", () => {
    const streams = cpython(VALUES, [4]).map((c) => c.streams[0]!);
    const ours = streams.map((s) => dumps(loads(s)));
    expect(cpythonAgrees(VALUES, ours).filter((r) => r !== "ok" && !r.startsWith("datetime"))).toEqual([]);
    const equal = unframe(
      runPython(
        `
import datetime, zoneinfo
VALUES = ${VALUES}
for i, b in enumerate(frames()):
    emit(b"ok" if pickle.loads(b) == VALUES[i] else repr(pickle.loads(b)).encode())
`,
        frame(ours),
      ),
    ).map(String);
    expect(equal).toEqual(streams.map(() => "ok"));
  });
});

describe("protocol 0 text is raw-unicode-escape (was read as UTF-8)", () => {
  const VALUES = `["é", "Ã©", "\\\\", "\\\\u0041", "a\\nb\\rc\\x00d\\x1a", "\\xff\\x80", "\\u0100中", "\\U0001f600", "\\ud800", "\\udfff", "", b"\\xff\\x00\\xe9", bytearray(b"\\xc3\\xa9"), {"é": "ü"}]`;

  it("decodes protocol 0 UNICODE (and bytes written through it) as CPython does", () => {
    for (const { want, streams } of cpython(VALUES, [0])) expect(canon(loads(streams[0]!))).toEqual(canon(want));
    // The bytes: 'é' as the latin-1 byte, and 'Ã©' (which UTF-8 would turn into 'é').
    expect(loads(Buffer.from("56e90a70300a2e", "hex"))).toBe("é");
    expect(loads(Buffer.from("56c3a90a70300a2e", "hex"))).toBe("Ã©");
  });

  it("refuses a truncated escape as CPython does", () => {
    const [msg] = unframe(
      runPython(`
try:
    pickle.loads(b"V\\\\u12\\np0\\n.")
except Exception as e:
    emit(type(e).__name__.encode())
`),
    );
    expect(String(msg)).toBe("UnicodeDecodeError");
    expect(refusal(Buffer.from("V\\u12\np0\n.")).code).toBe("MALFORMED");
  });
});

describe("protocol 0 floats inf, -inf, nan (were refused as bad FLOAT text)", () => {
  it("decodes every float CPython writes as text", () => {
    const out = unframe(
      runPython(`
VALUES = [float("inf"), float("-inf"), float("nan"), -0.0, 0.0, 1e300, 5e-324, 0.1, -2.5, 1e16, 2.0**53]
emit(repr(VALUES).encode())
for v in VALUES:
    emit(pickle.dumps(v, protocol=0))
`),
    );
    expect(out[1]!.toString()).toBe("Finf\n.");
    const got = out.slice(1).map((s) => loads(s) as number);
    const want = [Infinity, -Infinity, Number.NaN, -0, 0, 1e300, 5e-324, 0.1, -2.5, 1e16, 2 ** 53];
    for (let i = 0; i < want.length; i++) expect(Object.is(got[i], want[i])).toBe(true);
  });
});

describe("builtins.getattr outside the zoneinfo form (a bare one was decoded and written back)", () => {
  it("refuses every stream in which getattr, or what it returned, is a value", () => {
    const out = unframe(
      runPython(`
import zoneinfo
for v in [getattr, [getattr], {"f": getattr}, (1, getattr), zoneinfo.ZoneInfo._unpickle, [zoneinfo.ZoneInfo._unpickle]]:
    for proto in range(6):
        emit(pickle.dumps(v, protocol=proto))
`),
    );
    expect(out.length).toBe(36);
    for (const s of out) {
      const err = refusal(s);
      expect(err.code).toBe("FORBIDDEN_GLOBAL");
      expect([
        ["builtins", "getattr"],
        ["__builtin__", "getattr"],
        ["zoneinfo", "ZoneInfo._unpickle"],
      ]).toContainEqual([err.global?.module, err.global?.name]);
    }
  });

  it("still decodes the zoneinfo form, many times through the memo", () => {
    const out = unframe(
      runPython(`
import datetime, zoneinfo
sh = zoneinfo.ZoneInfo("Asia/Shanghai")
v = [datetime.datetime(2024, 3, 1, h, tzinfo=sh) for h in range(20)]
for proto in range(6):
    emit(pickle.dumps(v, protocol=proto))
`),
    );
    for (const s of out) expect((loads(s) as Date[])[19]!.toISOString()).toBe("2024-03-01T11:00:00.000Z");
  });
});

describe("a dict with non-str keys keeps Python's key order (integer-like str keys moved first)", () => {
  const VALUES = `[{"b": 1, "1": 2, 3: 3}, {"z": 0, "10": 1, "2": 2, "a": 3, 5: 4, "0": 5}, {"x": {"7": 1, "y": 2, None: 3}}]`;

  it("decodes to a Map in CPython's order at every protocol", () => {
    const out = unframe(
      runPython(`
import json
VALUES = ${VALUES}
emit(json.dumps([repr(list(d)) for d in VALUES]).encode())
for v in VALUES:
    for proto in range(6):
        emit(pickle.dumps(v, protocol=proto))
`),
    );
    const first = loads(out[1]!) as Map<unknown, unknown>;
    expect([...first.keys()]).toEqual(["b", "1", 3]);
    for (let p = 0; p < 6; p++) {
      expect([...(loads(out[7 + p]!) as Map<unknown, unknown>).keys()]).toEqual(["z", "10", "2", "a", 5, "0"]);
      const nested = loads(out[13 + p]!) as Record<string, Map<unknown, unknown>>;
      expect([...nested.x!.keys()]).toEqual(["7", "y", null]);
    }
  });

  it("is written back in that order", () => {
    const streams = cpython(VALUES, [0, 4]).flatMap((c) => c.streams);
    const ours = streams.map((s) => dumps(loads(s)));
    // VALUES[i % 3] pairs with stream i only when each value has one stream: compare per protocol.
    const byProto = [0, 1].map((p) => ours.filter((_, i) => i % 2 === p));
    for (const set of byProto) expect(cpythonAgrees(VALUES, set)).toEqual(["ok", "ok", "ok"]);
  });
});

describe("nesting depth: an option of loads and dumps alike (default 1,000)", () => {
  /** CPython writes `kind` nested `depth` deep (the recursion limit raised so it can). */
  const nested = (kind: string, depth: number): Buffer[] =>
    unframe(
      runPython(`
sys.setrecursionlimit(100000)
def nest(kind, n):
    v = None
    for _ in range(n):
        v = {"list": lambda x: [x], "dict": lambda x: {"k": x}, "tuple": lambda x: (x,),
             "map": lambda x: {1: x}, "frozenset": lambda x: frozenset([x]) if x is not None else frozenset()}[kind](v)
    return v
for proto in range(6):
    emit(pickle.dumps(nest("${kind}", ${depth}), protocol=proto))
`),
    );

  for (const kind of ["list", "dict", "tuple", "map", "frozenset"]) {
    it(`${kind}: 1,000 deep decodes and encodes back, 1,001 is refused by both`, () => {
      for (const s of nested(kind, 1000)) {
        const v = loads(s);
        expect(dumps(v).length).toBeGreaterThan(1000);
      }
      for (const s of nested(kind, 1001)) expect(refusal(s).code).toBe("LIMIT_EXCEEDED");
      // dumps refuses the same depth on a value built in JS.
      let deep: unknown = null;
      for (let i = 0; i < 1001; i++) deep = [deep];
      expect(() => dumps(deep)).toThrow(PickleError);
      expect(() => dumps((deep as unknown[])[0])).not.toThrow();
    });
  }

  it("takes maxDepth as an option on both sides", () => {
    const [five] = nested("list", 5);
    const [six] = nested("list", 6);
    expect(loads(five!, { maxDepth: 5 })).toBeDefined();
    expect(refusal(six!, { maxDepth: 5 }).code).toBe("LIMIT_EXCEEDED");
    expect(() => dumps(loads(six!), { maxDepth: 5 })).toThrow(/maxDepth 5/);
    expect(dumps(loads(five!), { maxDepth: 5 })).toBeDefined();
    expect(loads(nested("list", 5000)[4]!, { maxDepth: 5000 })).toBeDefined();
  });

  it("refuses 999,999 nested lists (a 2 MB stream CPython loads) early, before the rest is read", () => {
    const n = 999_999;
    const stream = Buffer.concat([
      Buffer.from([0x80, 4]),
      Buffer.alloc(n, 0x5d),
      Buffer.alloc(n - 1, 0x61),
      Buffer.from("."),
    ]);
    const [ok] = unframe(
      runPython(`emit(b"loads" if isinstance(pickle.loads(sys.stdin.buffer.read()), list) else b"no")`, stream),
    );
    expect(String(ok)).toBe("loads");
    const err = refusal(stream);
    expect(err.code).toBe("LIMIT_EXCEEDED");
    // Refused within the first few thousand opcodes: nothing close to a million lists was built.
    expect(err.offset).toBeLessThan(5000);
  });

  it("refuses a deep chain built through the memo (no pickler writes this) by measuring the result", () => {
    // L0 = []; then for each level: GET previous, new list, APPEND (into the memo'd one), PUT, POP.
    const parts: number[] = [0x80, 4, 0x5d, 0x94, 0x30]; // EMPTY_LIST MEMOIZE (memo 0) POP
    for (let i = 0; i < 1500; i++) parts.push(0x6a, ...u32(i), 0x5d, 0x94, 0x61, 0x30); // LONG_BINGET i, EMPTY_LIST, MEMOIZE (i+1), APPEND, POP
    parts.push(0x68, 0, 0x2e); // BINGET 0, STOP
    expect(refusal(Buffer.from(parts)).code).toBe("LIMIT_EXCEEDED");
    expect(loads(Buffer.from(parts), { maxDepth: 2000 })).toBeDefined();
  });
});

function u32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

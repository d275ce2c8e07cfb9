import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dumps, fromTaggedForTests, loads, tuple } from "./exports.js";
import { assertNullProto, canon, frame, runPython, unframe } from "./oracle.js";

const SEED = Number(process.env.PICKLE_PROPERTY_SEED ?? 20240611);
const RUNS = Number(process.env.PICKLE_PROPERTY_RUNS ?? 1500);

// Any UTF-16 unit, lone surrogates included: Python keeps them (surrogatepass).
const utf16 = fc.string({
  unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  maxLength: 12,
});
const text = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: "binary", maxLength: 12 }),
  utf16,
  fc.constantFrom("__proto__", "constructor", "$bytes", ""),
);
const bigBeyond53 = fc.oneof(
  fc.bigInt({ min: 2n ** 53n, max: 2n ** 600n }),
  fc.bigInt({ min: -(2n ** 600n), max: -(2n ** 53n) }),
);
const hashable = fc.oneof(fc.integer(), fc.maxSafeInteger(), text, bigBeyond53);

function nullProto(entries: [string, unknown][]): Record<string, unknown> {
  const o: Record<string, unknown> = Object.create(null);
  for (const [k, v] of entries) o[k] = v;
  return o;
}

const { value } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.maxSafeInteger(),
    bigBeyond53,
    fc.double(),
    text,
    fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
    fc.date({ min: new Date("0001-01-01T00:00:00Z"), max: new Date("9999-12-31T23:59:59.999Z"), noInvalidDate: true }),
    fc.array(tie("value"), { maxLength: 6 }),
    fc.array(tie("value"), { maxLength: 6 }).map((items) => tuple(...items)),
    fc.array(fc.tuple(text, tie("value")), { maxLength: 6 }).map(nullProto),
    // Non-str keys make a Map; at least one int key so it cannot come back as an object.
    fc
      .tuple(fc.integer(), tie("value"), fc.array(fc.tuple(hashable, tie("value")), { maxLength: 4 }))
      .map(([k, v, rest]) => new Map<unknown, unknown>([[k, v], ...rest])),
    fc.array(hashable, { maxLength: 6 }).map((items) => new Set(items)),
  ),
}));

/** TS dumps -> CPython loads -> CPython dumps (every protocol) -> TS loads. */
const ROUND_TRIP = `
for b in frames():
    v = pickle.loads(b)
    for proto in (2, 3, 4, 5):
        emit(pickle.dumps(v, protocol=proto))
`;

describe("round trip through CPython (the oracle)", () => {
  it(`keeps ${RUNS} random values equal: TS dumps -> CPython loads/dumps protocols 2..5 -> TS loads`, () => {
    const values = fc.sample(value, { numRuns: RUNS, seed: SEED });
    const out = unframe(runPython(ROUND_TRIP, frame(values.map((v) => dumps(v)))));
    expect(out.length).toBe(values.length * 4);
    for (let i = 0; i < values.length; i++) {
      const want = canon(values[i]);
      for (let p = 0; p < 4; p++) {
        const got = loads(out[i * 4 + p]!, { tuples: "tuple" });
        assertNullProto(got);
        if (JSON.stringify(canon(got)) !== JSON.stringify(want)) {
          // Report the failing sample with its seed so it can be replayed.
          expect({ seed: SEED, index: i, protocol: p + 2, got: canon(got) }).toEqual({
            seed: SEED,
            index: i,
            protocol: p + 2,
            got: want,
          });
        }
      }
    }
  });

  it("keeps shared and recursive references (memo) through CPython", () => {
    const samples = fc.sample(fc.array(value, { minLength: 1, maxLength: 4 }), { numRuns: 200, seed: SEED + 1 });
    const built = samples.map((items) => {
      const shared = { items };
      const cyclic: unknown[] = [shared];
      cyclic.push(cyclic);
      const dict: Record<string, unknown> = Object.create(null);
      dict.self = dict;
      dict.shared = shared;
      return [shared, shared, cyclic, dict];
    });
    const out = unframe(runPython(ROUND_TRIP, frame(built.map((v) => dumps(v)))));
    for (let i = 0; i < built.length; i++) {
      for (let p = 0; p < 4; p++) {
        const got = loads(out[i * 4 + p]!, { tuples: "tuple" }) as [object, object, unknown[], Record<string, unknown>];
        expect(got[0]).toBe(got[1]);
        expect(got[2][1]).toBe(got[2]);
        expect(got[2][0]).toBe(got[0]);
        expect(got[3].self).toBe(got[3]);
        expect(got[3].shared).toBe(got[0]);
        expect(canon(got[0])).toEqual(canon(built[i]![0]));
      }
    }
  });
});

/**
 * Values CPython generates itself (frozenset, bytearray, tuple keys, big batches,
 * datetimes, Decimal, date...), written at every protocol; the expected JS value comes
 * from the helper's tagged JSON, decoded by the Python codec's JSON reader.
 */
const PY_VALUES = `
import random, datetime, decimal, zoneinfo, json, pickle_helper
rnd = random.Random(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
def text():
    return "".join(rnd.choice(["a", "é", "中", "\\ud800", "\\U0001f600", "$", "_", " "]) for _ in range(rnd.randrange(0, 8)))
def scalar():
    k = rnd.randrange(14)
    if k == 0: return None
    if k == 1: return rnd.random() < 0.5
    if k == 2: return rnd.randrange(-2**31, 2**31)
    if k == 3: return rnd.choice([-1, 1]) * rnd.randrange(0, 2**rnd.randrange(1, 2200))
    if k == 4: return rnd.choice([rnd.uniform(-1e9, 1e9), float("inf"), float("-inf"), -0.0, 1e300, 5e-324])
    if k == 5: return text()
    if k == 6: return bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 20)))
    if k == 7: return bytearray(rnd.randrange(256) for _ in range(rnd.randrange(0, 5)))
    if k == 8: return datetime.datetime(rnd.randrange(1, 10000), rnd.randrange(1, 13), rnd.randrange(1, 29), rnd.randrange(24), rnd.randrange(60), rnd.randrange(60), rnd.randrange(1000) * 1000)
    if k == 9: return datetime.datetime(rnd.randrange(1971, 2037), rnd.randrange(1, 13), rnd.randrange(1, 29), rnd.randrange(24), rnd.randrange(60), tzinfo=rnd.choice([datetime.timezone.utc, datetime.timezone(datetime.timedelta(hours=8)), zoneinfo.ZoneInfo("Asia/Shanghai"), zoneinfo.ZoneInfo("America/New_York")]), fold=rnd.randrange(2))
    if k == 10: return decimal.Decimal(rnd.choice(["1.23", "-0", "1E+3", "NaN", "123456789.000000001"]))
    if k == 11: return datetime.date(rnd.randrange(1, 10000), rnd.randrange(1, 13), rnd.randrange(1, 29))
    if k == 12: return datetime.timedelta(days=rnd.randrange(-5, 5), seconds=rnd.randrange(86400), microseconds=rnd.randrange(10**6))
    return rnd.randrange(0, 2**53)
def hashable():
    return rnd.choice([rnd.randrange(-1000, 1000), text(), (rnd.randrange(9), text()), frozenset([rnd.randrange(9)])])
def value(depth=0):
    k = rnd.randrange(8) if depth < 3 else 0
    n = rnd.randrange(0, 5)
    if k == 1: return [value(depth + 1) for _ in range(n)]
    if k == 2: return tuple(value(depth + 1) for _ in range(n))
    if k == 3: return {text(): value(depth + 1) for _ in range(n)}
    if k == 4: return {hashable(): value(depth + 1) for _ in range(n + 1)} | {rnd.randrange(-9, 9): None}
    if k == 5: return {hashable() for _ in range(n)}
    if k == 6: return frozenset(hashable() for _ in range(n))
    return scalar()
values = [value() for _ in range(int(sys.argv[2]))]
# Batches of 1000 (APPENDS/SETITEMS/ADDITEMS) and frames recurring mid-stream (> 64 KiB).
values.append(list(range(-1200, 1300)))
values.append({"k%d" % i: i for i in range(2500)})
values.append({i: str(i) for i in range(2500)})
values.append(set(range(2500)))
values.append(["x" * 1000 for _ in range(300)])
values.append({"__proto__": {"polluted": True}, "constructor": 1})
for v in values:
    emit(json.dumps(pickle_helper.to_tagged(v)).encode())
    for proto in (2, 3, 4, 5):
        emit(pickle.dumps(v, protocol=proto))
`;

describe("CPython-written streams, protocols 2 to 5", () => {
  it("decodes random CPython values of every protocol to the documented mapping", () => {
    const count = Math.max(200, Math.floor(RUNS / 2));
    const out = unframe(runPython(`sys.argv = ["x", "${SEED}", "${count}"]\n${PY_VALUES}`));
    expect(out.length % 5).toBe(0);
    expect(out.length / 5).toBe(count + 6);
    for (let i = 0; i < out.length; i += 5) {
      const want = canon(fromTaggedForTests(JSON.parse(out[i]!.toString("utf8"))));
      for (let p = 1; p <= 4; p++) {
        const got = loads(out[i + p]!);
        assertNullProto(got);
        if (JSON.stringify(canon(got)) !== JSON.stringify(want)) {
          expect({ value: i / 5, protocol: p + 1, got: canon(got) }).toEqual({
            value: i / 5,
            protocol: p + 1,
            got: want,
          });
        }
      }
    }
  });
});

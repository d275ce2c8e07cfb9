import { describe, expect, it } from "vitest";
import {
  PickleError,
  PyGlobal,
  dataclassGlobal,
  defaultGlobals,
  dumps,
  enumGlobal,
  fromTaggedForTests,
  isTuple,
  loads,
  pyCall,
  tuple,
} from "./exports.js";
import { frame, runPython, unframe } from "./oracle.js";

/** vn.py's shapes, defined under their real module names so the globals match production. */
const VNPY = `
import sys, types, enum, dataclasses, datetime, decimal, zoneinfo
def module(name):
    m = types.ModuleType(name); sys.modules[name] = m; return m
module("vnpy"); module("vnpy.trader")
constant, obj = module("vnpy.trader.constant"), module("vnpy.trader.object")
class Direction(enum.Enum):
    LONG = "多"
    SHORT = "空"
class Exchange(enum.Enum):
    SSE = "SSE"
@dataclasses.dataclass
class TickData:
    gateway_name: str
    symbol: str
    exchange: Exchange
    datetime: datetime.datetime
    last_price: float = 0
    volume: float = 0
    direction: Direction = Direction.LONG
    extra: dict = None
for cls, m in ((Direction, constant), (Exchange, constant), (TickData, obj)):
    cls.__module__ = m.__name__; setattr(m, cls.__name__, cls)
SH = zoneinfo.ZoneInfo("Asia/Shanghai")
`;

const py = (body: string): Buffer[] => unframe(runPython(VNPY + body));

// members: early CPython 3.11 releases (Debian 12's 3.11.2) pickle Enum members by name.
const vnpyGlobals = {
  ...defaultGlobals,
  "vnpy.trader.constant.Direction": enumGlobal({ members: { LONG: "多", SHORT: "空" } }),
  "vnpy.trader.constant.Exchange": enumGlobal({ members: { SSE: "SSE" } }),
  "vnpy.trader.object.TickData": dataclassGlobal({ typeKey: "__type__", typeName: "TickData" }),
};

describe("real-world payload shapes", () => {
  it("datetime naive (read as UTC), UTC, fixed offset and zoneinfo-aware become Dates", () => {
    const [naive, utc, fixed, zone, fold0, fold1] = py(`
for v in [datetime.datetime(2024, 3, 1, 9, 30, 0, 123456),
          datetime.datetime(2024, 3, 1, 9, 30, tzinfo=datetime.timezone.utc),
          datetime.datetime(2024, 3, 1, 9, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=-5), "EST")),
          datetime.datetime(2024, 3, 1, 9, 30, tzinfo=SH),
          datetime.datetime(2024, 11, 3, 1, 30, tzinfo=zoneinfo.ZoneInfo("America/New_York"), fold=0),
          datetime.datetime(2024, 11, 3, 1, 30, tzinfo=zoneinfo.ZoneInfo("America/New_York"), fold=1)]:
    emit(pickle.dumps(v, protocol=4))
`);
    expect(loads(naive!)).toEqual(new Date("2024-03-01T09:30:00.123Z"));
    expect(loads(utc!)).toEqual(new Date("2024-03-01T09:30:00Z"));
    expect(loads(fixed!)).toEqual(new Date("2024-03-01T14:30:00Z"));
    expect(loads(zone!)).toEqual(new Date("2024-03-01T01:30:00Z"));
    expect(loads(fold0!)).toEqual(new Date("2024-11-03T05:30:00Z")); // EDT, first pass
    expect(loads(fold1!)).toEqual(new Date("2024-11-03T06:30:00Z")); // EST, second pass
  });

  it("date, time, timedelta and Decimal map to strings and seconds", () => {
    const [data] = py(
      `emit(pickle.dumps([datetime.date(2024, 3, 1), datetime.time(9, 30, 1, 5), datetime.timedelta(days=1, seconds=2, microseconds=500000), decimal.Decimal("-1.2300")], protocol=4))`,
    );
    expect(loads(data!)).toEqual(["2024-03-01", "09:30:01.000005", 86402.5, "-1.2300"]);
  });

  it("refuses an application Enum or dataclass until it is allow-listed, naming it", () => {
    const [tick] = py(
      `emit(pickle.dumps(TickData("CTP", "510050", Exchange.SSE, datetime.datetime(2024, 3, 1, 9, 30, tzinfo=SH)), protocol=4))`,
    );
    const err = (() => {
      try {
        loads(tick!);
      } catch (e) {
        return e as PickleError;
      }
    })();
    expect(err).toBeInstanceOf(PickleError);
    expect(err?.code).toBe("FORBIDDEN_GLOBAL");
    expect(err?.global).toEqual({ module: "vnpy.trader.object", name: "TickData" });
  });

  it("maps vn.py's TickData (NEWOBJ + BUILD) and Direction (class + (value,) REDUCE) to plain objects", () => {
    const [tick, reply] = py(`
t = TickData("CTP", "510050", Exchange.SSE, datetime.datetime(2024, 3, 1, 9, 30, tzinfo=SH), 2.5, 1e6, Direction.SHORT, {"k": 1})
emit(pickle.dumps(t, protocol=4))
emit(pickle.dumps([True, [t, t, Direction.LONG]], protocol=4))
`);
    const got = loads(tick!, { globals: vnpyGlobals }) as Record<string, unknown>;
    expect(Object.getPrototypeOf(got)).toBeNull();
    expect({ ...got }).toEqual({
      __type__: "TickData",
      gateway_name: "CTP",
      symbol: "510050",
      exchange: "SSE",
      datetime: new Date("2024-03-01T01:30:00Z"),
      last_price: 2.5,
      volume: 1e6,
      direction: "空",
      extra: Object.assign(Object.create(null), { k: 1 }),
    });
    const [ok, [a, b, dir]] = loads(reply!, { globals: vnpyGlobals }) as [boolean, [object, object, string]];
    expect(ok).toBe(true);
    expect(a).toBe(b); // BINGET memo reference: one object, twice
    expect(dir).toBe("多");
    const mapped = loads(reply!, {
      globals: {
        ...vnpyGlobals,
        "vnpy.trader.constant.Direction": enumGlobal({
          values: { 多: "LONG", 空: "SHORT" },
          members: { LONG: "多", SHORT: "空" },
        }),
      },
    }) as [boolean, [Record<string, unknown>, object, string]];
    expect(mapped[1][2]).toBe("LONG");
    expect(mapped[1][0].direction).toBe("SHORT");
  });

  it("reads an Enum member pickled by value (CPython 3.11.7) and by name (3.11.2's getattr) alike", () => {
    // Both forms written by CPython's pickler, whatever the interpreter's own default.
    const out = py(`
class ByValue:
    def __reduce__(self): return (Direction, ("空",))
class ByName:
    def __reduce__(self): return (getattr, (Direction, "SHORT"))
for v in (ByValue(), ByName(), [ByName(), ByName()]):
    emit(pickle.dumps(v, protocol=2))
    emit(pickle.dumps(v, protocol=4))
`);
    for (const s of out.slice(0, 4)) expect(loads(s, { globals: vnpyGlobals })).toBe("空");
    for (const s of out.slice(4)) expect(loads(s, { globals: vnpyGlobals })).toEqual(["空", "空"]);
    const noMembers = { ...defaultGlobals, "vnpy.trader.constant.Direction": enumGlobal() };
    expect(loads(out[1]!, { globals: noMembers })).toBe("空");
    expect(() => loads(out[3]!, { globals: noMembers })).toThrow(/pickled by name/);
  });

  it("gives back a datetime's state and argument tuple if a stream reuses them (read directly otherwise)", () => {
    // datetime.datetime, state, MEMOIZE, TUPLE1, MEMOIZE, REDUCE, MEMOIZE, then GET the
    // state (memo 1) and the argument tuple (memo 2) again: (dt, state, (state,)).
    const state = [0x07, 0xe8, 3, 1, 9, 30, 0, 0x01, 0xe2, 0x40];
    const short = (t: string) => [0x8c, t.length, ...Buffer.from(t)];
    const stream = Buffer.from([
      0x80,
      4,
      ...short("datetime"),
      ...short("datetime"),
      0x93,
      0x94,
      0x43,
      10,
      ...state,
      0x94,
      0x85,
      0x94,
      0x52,
      0x94,
      0x68,
      1,
      0x68,
      2,
      0x87,
      0x2e,
    ]);
    const [tagged] = unframe(
      runPython(
        `import json, pickle_helper\nemit(json.dumps(pickle_helper.to_tagged(pickle.loads(sys.stdin.buffer.read()))).encode())`,
        stream,
      ),
    );
    const want = fromTaggedForTests(JSON.parse(tagged!.toString())) as unknown[];
    for (const tuples of ["array", "tuple"] as const) {
      const got = loads(stream, { tuples }) as [Date, Buffer, Buffer[]];
      expect(got[0]).toEqual(want[0]);
      expect(got[0].toISOString()).toBe("2024-03-01T09:30:00.123Z");
      expect(Buffer.from(got[1]).equals(Buffer.from(state))).toBe(true);
      expect(Buffer.from(got[2][0]!).equals(Buffer.from(state))).toBe(true);
      expect(isTuple(got[2])).toBe(tuples === "tuple");
    }
  });

  it("reads FRAME recurring mid-stream, batches of 1000 and LONG1/LONG4 negatives", () => {
    const [data] = py(`
emit(pickle.dumps({"big": ["x" * 100] * 3 + ["y%d" % i for i in range(3000)], "d": {i: -i for i in range(2500)},
                   "ints": [-1, -128, -129, -2**31, -2**31 - 1, -2**63, -2**64 - 1, 2**64, -(2**2100), 2**2100 - 1, -2**53 + 1, 2**53]}, protocol=4))
`);
    expect(data!.filter((x) => x === 0x95).length).toBeGreaterThan(1);
    const got = loads(data!) as { big: string[]; d: Map<number, number>; ints: (number | bigint)[] };
    expect(got.big.length).toBe(3003);
    expect(got.big[0]).toBe(got.big[1]); // the same str object, via the memo
    expect(got.big[3002]).toBe("y2999");
    expect(got.d.size).toBe(2500);
    expect(got.d.get(2499)).toBe(-2499);
    expect(got.ints).toEqual([
      -1,
      -128,
      -129,
      -(2 ** 31),
      -(2 ** 31) - 1,
      -(2n ** 63n),
      -(2n ** 64n) - 1n,
      2n ** 64n,
      -(2n ** 2100n),
      2n ** 2100n - 1n,
      -(2 ** 53) + 1,
      2n ** 53n,
    ]);
  });

  it("writes protocol 4 that CPython loads into the expected Python values", () => {
    const value = {
      req: ["get_positions", tuple("acc1"), { _ctx: { userId: "u1", requestId: "r-1" } }],
      when: new Date("2024-03-01T01:30:00.250Z"),
      big: -(2n ** 100n),
      ints: [0, 255, 256, 65535, 65536, -1, 2 ** 31, -(2 ** 31) - 1, 2 ** 40, -(2 ** 47), 2 ** 53 - 1, -(2 ** 53) + 1],
      floats: [1.5, -0, Number.POSITIVE_INFINITY, 1e300],
      bytes: new Uint8Array([0, 255]),
      set: new Set([tuple(1, 2)]),
      map: new Map<unknown, unknown>([
        [[1, 2], "tuple key"],
        [3, null],
      ]),
      undef: undefined,
      dec: pyCall("decimal", "Decimal", ["1.23"]),
      long: "长".repeat(200),
    };
    const [repr] = unframe(
      runPython(
        `import pickletools, datetime\nfor b in frames():\n    pickletools.dis(b, out=open("/dev/null", "w"))\n    emit(repr(pickle.loads(b)).encode())`,
        frame([dumps(value)]),
      ),
    );
    const expected =
      "{'req': ['get_positions', ('acc1',), {'_ctx': {'userId': 'u1', 'requestId': 'r-1'}}], " +
      "'when': datetime.datetime(2024, 3, 1, 1, 30, 0, 250000, tzinfo=datetime.timezone.utc), " +
      "'big': -1267650600228229401496703205376, " +
      "'ints': [0, 255, 256, 65535, 65536, -1, 2147483648, -2147483649, 1099511627776, -140737488355328, 9007199254740991, -9007199254740991], " +
      "'floats': [1.5, -0.0, inf, 1e+300], 'bytes': b'\\x00\\xff', 'set': {(1, 2)}, " +
      "'map': {(1, 2): 'tuple key', 3: None}, 'undef': None, 'dec': Decimal('1.23'), " +
      `'long': '${"长".repeat(200)}'}`;
    expect(repr!.toString("utf8")).toBe(expected);
  });

  it("writes naive Dates when asked, and classes as globals", () => {
    const out = unframe(
      runPython(
        `import datetime\nfor b in frames():\n    emit(repr(pickle.loads(b)).encode())`,
        frame([dumps(new Date(0), { naiveDates: true }), dumps(new PyGlobal("datetime", "date"))]),
      ),
    );
    expect(out.map(String)).toEqual(["datetime.datetime(1970, 1, 1, 0, 0)", "<class 'datetime.date'>"]);
  });

  it("keeps handler errors typed", () => {
    const bad = {
      "app.Bad": {
        call: () => {
          throw new Error("boom");
        },
      },
    };
    const data = dumps(pyCall("app", "Bad", []));
    expect(() => loads(data, { globals: bad })).toThrow(PickleError);
  });
});

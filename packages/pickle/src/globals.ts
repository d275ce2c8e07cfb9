import { PickleError, forbiddenGlobal } from "./errors.js";
import { asFrozenSet } from "./frozenset.js";

/**
 * How the decoder may use one allow-listed global. Handlers are plain data
 * transformers: nothing from the stream is ever called or evaluated, a handler only
 * sees already-decoded values.
 *
 * - call: REDUCE (and protocol 0/1 INST/OBJ), i.e. `callable(*args)`.
 *   Enums use it (`Direction("多")`), so do datetime and Decimal.
 * - create: NEWOBJ / NEWOBJ_EX, i.e. `cls.__new__(cls, *args)`. Dataclasses and plain
 *   objects use it, followed by BUILD.
 * - build: BUILD on an object that `call`/`create` of the same handler returned. It must
 *   update `obj` in place: the object may already be referenced through the memo.
 * - member: `getattr(cls, name)`, how early CPython 3.11 releases (3.11.2, Debian 12's,
 *   does; 3.11.7 does not) pickle an Enum member: by name. Returns the member's value.
 * A global without the needed member is refused with FORBIDDEN_GLOBAL.
 */
export interface GlobalHandler {
  call?(args: unknown[]): unknown;
  create?(args: unknown[], kwargs: Record<string, unknown> | undefined): unknown;
  build?(obj: unknown, state: unknown): void;
  member?(name: string): unknown;
}

/** Allow-list: keys are `"module.qualname"`, e.g. `"vnpy.trader.constant.Direction"`. */
export type GlobalsMap = Readonly<Record<string, GlobalHandler>>;

/**
 * A reference to a Python global. The decoder pushes one for GLOBAL/STACK_GLOBAL (only
 * after the allow-list check); it reaches the result only when the stream pickles a
 * class itself. `dumps` writes it back as STACK_GLOBAL.
 */
/**
 * Globals that may only ever be called, never end up in a decoded value: getattr itself
 * and what getattr(zoneinfo.ZoneInfo, '_unpickle') returns. The decoder counts their
 * references and refuses a stream in which one is left over (see loads).
 */
export const callOnlyHandlers = new WeakSet<GlobalHandler>();

export class PyGlobal {
  /** getattr and the like: the stream may call it, a decoded value may never hold it. */
  readonly callOnly: boolean;
  constructor(
    readonly module: string,
    readonly name: string,
    readonly handler?: GlobalHandler,
  ) {
    this.callOnly = handler !== undefined && callOnlyHandlers.has(handler);
  }
}

/**
 * A Python call for `dumps` to write as `module.name(*args)` (STACK_GLOBAL + args + REDUCE),
 * e.g. `pyCall("decimal", "Decimal", ["1.23"])`. The receiving side decides if it allows it.
 */
export class PyCall {
  constructor(
    readonly module: string,
    readonly name: string,
    readonly args: readonly unknown[],
  ) {}
}

export function pyCall(module: string, name: string, args: readonly unknown[]): PyCall {
  return new PyCall(module, name, args);
}

function arity(module: string, name: string, args: unknown[], min: number, max: number): void {
  if (args.length < min || args.length > max) {
    throw new PickleError("MALFORMED", `${module}.${name} expects ${min}..${max} arguments, got ${args.length}`);
  }
}

// ---------------------------------------------------------------------------------------
// Built-in data constructors. CPython writes plain data with them at protocols 2 and 3
// (set, frozenset, bytearray, and bytes via _codecs.encode), so they are always allowed;
// they only ever build data from data.

function toBytes(v: unknown, what: string): Buffer {
  if (v instanceof Uint8Array) return Buffer.from(v);
  if (Array.isArray(v)) {
    const out = Buffer.allocUnsafe(v.length);
    for (let i = 0; i < v.length; i++) {
      const b = v[i];
      if (typeof b !== "number" || !Number.isInteger(b) || b < 0 || b > 255) {
        throw new PickleError("MALFORMED", `${what}: list item is not a byte`);
      }
      out[i] = b;
    }
    return out;
  }
  throw new PickleError("MALFORMED", `${what}: argument is not bytes`);
}

const setOf = (what: "set" | "frozenset"): GlobalHandler => ({
  call(args) {
    arity("builtins", what, args, 0, 1);
    const src = args[0];
    let set: Set<unknown>;
    if (src === undefined) set = new Set();
    else if (Array.isArray(src) || src instanceof Set) set = new Set(src as Iterable<unknown>);
    else throw new PickleError("MALFORMED", `builtins.${what}: argument is not a list`);
    return what === "frozenset" ? asFrozenSet(set) : set;
  },
});

const bytesCtor = (what: string): GlobalHandler => ({
  call(args) {
    arity("builtins", what, args, 0, 2);
    if (args.length === 0) return Buffer.alloc(0);
    // bytearray(str, "latin-1") is how protocol 2 writes a bytearray.
    if (typeof args[0] === "string") return latin1(args[0], args[1], `builtins.${what}`);
    return toBytes(args[0], `builtins.${what}`);
  },
});

function latin1(s: string, encoding: unknown, what: string): Buffer {
  if (encoding !== "latin1" && encoding !== "latin-1") {
    throw new PickleError("MALFORMED", `${what}: only latin-1 text is accepted`);
  }
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 255) throw new PickleError("MALFORMED", `${what}: text is not latin-1`);
  }
  return Buffer.from(s, "latin1");
}

const codecsEncode: GlobalHandler = {
  call(args) {
    arity("_codecs", "encode", args, 2, 2);
    if (typeof args[0] !== "string") throw new PickleError("MALFORMED", "_codecs.encode: argument is not str");
    return latin1(args[0], args[1], "_codecs.encode");
  },
};

export const builtinDataGlobals: GlobalsMap = Object.freeze({
  "builtins.set": setOf("set"),
  "builtins.frozenset": setOf("frozenset"),
  "builtins.bytearray": bytesCtor("bytearray"),
  "builtins.bytes": bytesCtor("bytes"),
  "__builtin__.set": setOf("set"),
  "__builtin__.frozenset": setOf("frozenset"),
  "__builtin__.bytearray": bytesCtor("bytearray"),
  "__builtin__.bytes": bytesCtor("bytes"),
  "_codecs.encode": codecsEncode,
});

// ---------------------------------------------------------------------------------------
// datetime, decimal, zoneinfo

/** A tzinfo as decoded: a fixed offset (datetime.timezone) or an IANA zone (zoneinfo). */
export class PyTimezone {
  /** The IANA zone's offset data, looked up once per PyTimezone (a reply shares one). */
  private zoneData: Zone | undefined;
  constructor(
    readonly offsetSeconds: number | undefined,
    readonly zone: string | undefined,
    readonly label?: string,
  ) {}

  /** Wall clock (ms, as if UTC) in this zone to the instant, as Python resolves folds. */
  wallToUtc(wallMs: number, fold: boolean): number {
    this.zoneData ??= zoneNamed(this.zone!);
    const zone = this.zoneData;
    // The usual case, small enough to be inlined where datetimes are decoded.
    if (Math.floor(wallMs / DAY_MS) === zone.steadyDay) return wallMs - zone.steadyOffset;
    return zoneWallToUtc(zone, wallMs, fold);
  }
}

function stateBytes(v: unknown, len: number, what: string): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== len) {
    // Protocol 2 writes the state as a latin-1 str.
    if (typeof v === "string" && v.length === len) return Buffer.from(v, "latin1");
    throw new PickleError("MALFORMED", `${what}: state is not ${len} bytes`);
  }
  return v;
}

function tzArg(v: unknown, what: string): PyTimezone | undefined {
  if (v === undefined || v === null) return undefined;
  if (v instanceof PyTimezone) return v;
  throw new PickleError("MALFORMED", `${what}: tzinfo is not a datetime.timezone or zoneinfo.ZoneInfo`);
}

const DAY_MS = 86_400_000;

/** Days since 1970-01-01 of a proleptic Gregorian date, any year (no Date.UTC: it maps years 0-99 to 1900-1999). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}

function civilMs(year: number, month: number, day: number, h: number, mi: number, s: number): number {
  return (daysFromCivil(year, month, day) * 86400 + h * 3600 + mi * 60 + s) * 1000;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** What CPython's date/datetime constructors check: year 1-9999, a real month and day. */
function validDate(year: number, month: number, day: number): boolean {
  return year >= 1 && year <= 9999 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
}

interface Zone {
  readonly format: Intl.DateTimeFormat;
  /** UTC day -> the zone's offset (ms) through that whole day, or NaN when it changes within it. */
  readonly dayOffsets: Map<number, number>;
  /** The last wall-clock day seen with one offset from the day before to the day after. */
  steadyDay: number;
  steadyOffset: number;
}

const zones = new Map<string, Zone>();

function zoneNamed(name: string): Zone {
  let zone = zones.get(name);
  if (zone === undefined) {
    let format: Intl.DateTimeFormat;
    try {
      format = new Intl.DateTimeFormat("en-US", {
        timeZone: name,
        hourCycle: "h23",
        era: "short",
        year: "numeric",
        month: "numeric",
        day: "numeric",
        hour: "numeric",
        minute: "numeric",
        second: "numeric",
      });
    } catch (cause) {
      throw new PickleError("MALFORMED", `unknown time zone ${JSON.stringify(name)}`, { cause });
    }
    zone = { format, dayOffsets: new Map(), steadyDay: Number.NaN, steadyOffset: 0 };
    if (zones.size < 1000) zones.set(name, zone);
  }
  return zone;
}

/** UTC offset (ms) of a zone at an instant, from the runtime's ICU data (one formatToParts). */
function exactOffsetMs(zone: Zone, utcMs: number): number {
  let year = 0;
  let month = 1;
  let day = 1;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let beforeChrist = false;
  for (const p of zone.format.formatToParts(new Date(utcMs))) {
    switch (p.type) {
      case "year":
        year = Number(p.value);
        break;
      case "month":
        month = Number(p.value);
        break;
      case "day":
        day = Number(p.value);
        break;
      case "hour":
        hour = Number(p.value);
        break;
      case "minute":
        minute = Number(p.value);
        break;
      case "second":
        second = Number(p.value);
        break;
      case "era":
        beforeChrist = p.value === "BC";
        break;
    }
  }
  // ICU counts years before 1 as 1 BC, 2 BC...: year 0 is 1 BC.
  if (beforeChrist) year = 1 - year;
  return civilMs(year, month, day, hour, minute, second) - (utcMs - (((utcMs % 1000) + 1000) % 1000));
}

/**
 * UTC offset (ms) of an IANA zone at an instant. A reply carries many datetimes of the
 * same few days, and formatToParts costs microseconds, so the offset is kept per UTC
 * day when it is the same at the day's start, middle and end (no tz rule changes an
 * offset and back within half a day); a day with a transition is computed exactly.
 */
function zoneOffsetMs(zone: Zone, utcMs: number): number {
  const day = Math.floor(utcMs / DAY_MS);
  let offset = zone.dayOffsets.get(day);
  if (offset === undefined) {
    const start = day * DAY_MS;
    const first = exactOffsetMs(zone, start);
    const steady =
      first === exactOffsetMs(zone, start + DAY_MS / 2) && first === exactOffsetMs(zone, start + DAY_MS - 1000);
    offset = steady ? first : Number.NaN;
    if (zone.dayOffsets.size >= 50_000) zone.dayOffsets.clear();
    zone.dayOffsets.set(day, offset);
  }
  return Number.isNaN(offset) ? exactOffsetMs(zone, utcMs) : offset;
}

/**
 * Wall-clock time in a zone to an instant, resolving gaps and folds as Python does.
 * Consecutive datetimes of a reply mostly share a day: when the offset is the same
 * from the day before to the day after, that day is remembered and costs one compare.
 */
function zoneWallToUtc(zone: Zone, wallMs: number, fold: boolean): number {
  const wallDay = Math.floor(wallMs / DAY_MS);
  if (wallDay === zone.steadyDay) return wallMs - zone.steadyOffset;
  const before = zoneOffsetMs(zone, wallMs - DAY_MS);
  const after = zoneOffsetMs(zone, wallMs + DAY_MS);
  if (before === after) {
    const dayStart = wallDay * DAY_MS;
    if (
      zoneOffsetMs(zone, dayStart - DAY_MS) === before &&
      zoneOffsetMs(zone, dayStart + 2 * DAY_MS - 1000) === before
    ) {
      zone.steadyDay = wallDay;
      zone.steadyOffset = before;
    }
    return wallMs - before;
  }
  const early = wallMs - before;
  const late = wallMs - after;
  const earlyOk = zoneOffsetMs(zone, early) === before;
  const lateOk = zoneOffsetMs(zone, late) === after;
  if (!fold) return earlyOk || !lateOk ? early : late;
  return lateOk || !earlyOk ? late : early;
}

function pad(n: number, w: number): string {
  return String(n).padStart(w, "0");
}

function outOfRange(what: string): PickleError {
  return new PickleError("MALFORMED", `${what}: field out of range`);
}

/** The days of the last date decoded: a reply's datetimes mostly share their date. */
let lastDate = -1;
let lastDays = 0;

/**
 * A datetime's 10-byte state at b[p..p+10) (year, month | fold, day, h, m, s, us) and
 * its tzinfo to the instant, truncated to ms. Naive datetimes are read as UTC.
 */
export function datetimeFromState(b: Uint8Array, p: number, tz: PyTimezone | undefined): Date {
  const year = (b[p]! << 8) | b[p + 1]!;
  const month = b[p + 2]! & 0x7f;
  const day = b[p + 3]!;
  const us = (b[p + 7]! << 16) | (b[p + 8]! << 8) | b[p + 9]!;
  const date = (year << 9) | (month << 5) | day;
  if (date !== lastDate) {
    if (!validDate(year, month, day)) throw outOfRange("datetime.datetime");
    lastDays = daysFromCivil(year, month, day);
    lastDate = date;
  }
  if (b[p + 4]! > 23 || b[p + 5]! > 59 || b[p + 6]! > 59 || us > 999_999) throw outOfRange("datetime.datetime");
  const wall = (lastDays * 86400 + b[p + 4]! * 3600 + b[p + 5]! * 60 + b[p + 6]!) * 1000;
  if (tz === undefined) return new Date(wall + Math.floor(us / 1000));
  if (tz.zone !== undefined) return new Date(tz.wallToUtc(wall, (b[p + 2]! & 0x80) !== 0) + Math.floor(us / 1000));
  // A fixed offset may carry microseconds: subtract exactly, then truncate to ms.
  const offsetUs = Math.round((tz.offsetSeconds ?? 0) * 1e6);
  return new Date(wall + Math.floor((us - offsetUs) / 1000));
}

/** datetime.datetime -> Date (ms precision, truncated). The decoder also reads CPython's own form directly (loads). */
export const datetimeHandler: GlobalHandler = {
  call(args) {
    arity("datetime", "datetime", args, 1, 2);
    return datetimeFromState(stateBytes(args[0], 10, "datetime.datetime"), 0, tzArg(args[1], "datetime.datetime"));
  },
};

/** datetime.date -> "YYYY-MM-DD" (a Date would pretend to carry a time and zone). */
const dateHandler: GlobalHandler = {
  call(args) {
    arity("datetime", "date", args, 1, 1);
    const b = stateBytes(args[0], 4, "datetime.date");
    const year = (b[0]! << 8) | b[1]!;
    if (!validDate(year, b[2]!, b[3]!)) throw outOfRange("datetime.date");
    return `${pad(year, 4)}-${pad(b[2]!, 2)}-${pad(b[3]!, 2)}`;
  },
};

/** datetime.time -> "HH:MM:SS.ffffff" (tzinfo, if any, is dropped). */
const timeHandler: GlobalHandler = {
  call(args) {
    arity("datetime", "time", args, 1, 2);
    const b = stateBytes(args[0], 6, "datetime.time");
    const us = (b[3]! << 16) | (b[4]! << 8) | b[5]!;
    if ((b[0]! & 0x7f) > 23 || b[1]! > 59 || b[2]! > 59 || us > 999_999) throw outOfRange("datetime.time");
    return `${pad(b[0]! & 0x7f, 2)}:${pad(b[1]!, 2)}:${pad(b[2]!, 2)}.${pad(us, 6)}`;
  },
};

function intArg(v: unknown, what: string): number {
  if (typeof v === "number" && Number.isInteger(v)) return v;
  throw new PickleError("MALFORMED", `${what}: argument is not an int`);
}

/** datetime.timedelta -> number of seconds (float; `total_seconds()` in Python). */
const timedeltaHandler: GlobalHandler = {
  call(args) {
    arity("datetime", "timedelta", args, 0, 3);
    const days = intArg(args[0] ?? 0, "datetime.timedelta");
    const secs = intArg(args[1] ?? 0, "datetime.timedelta");
    const us = intArg(args[2] ?? 0, "datetime.timedelta");
    // total_seconds() is the exact microsecond count divided by 10**6, correctly rounded.
    const totalUs = (days * 86400 + secs) * 1e6 + us;
    if (Number.isSafeInteger(totalUs)) return totalUs / 1e6;
    return ratioToNumber((BigInt(days) * 86400n + BigInt(secs)) * 1_000_000n + BigInt(us), 1_000_000n);
  },
};

/** num / den (den > 0) correctly rounded to a double, as Python's int / int is. */
function ratioToNumber(num: bigint, den: bigint): number {
  const negative = num < 0n;
  const n = negative ? -num : num;
  // Enough quotient bits (>= 55) that rounding to odd, then to nearest, is exact.
  const shift = Math.max(0, 55 + den.toString(2).length - n.toString(2).length);
  let q = (n << BigInt(shift)) / den;
  if ((n << BigInt(shift)) % den !== 0n) q |= 1n;
  const v = Number(q) / 2 ** shift;
  return negative ? -v : v;
}

const timezoneHandler: GlobalHandler = {
  call(args) {
    arity("datetime", "timezone", args, 1, 2);
    if (typeof args[0] !== "number") throw new PickleError("MALFORMED", "datetime.timezone: offset is not a timedelta");
    const label = args[1];
    if (label !== undefined && typeof label !== "string")
      throw new PickleError("MALFORMED", "datetime.timezone: bad name");
    return new PyTimezone(args[0], undefined, label);
  },
};

const zoneInfoHandler: GlobalHandler = {
  // ZoneInfo(key) and ZoneInfo._unpickle(key, from_cache) both just name a zone.
  call(args) {
    arity("zoneinfo", "ZoneInfo", args, 1, 2);
    if (typeof args[0] !== "string") throw new PickleError("MALFORMED", "zoneinfo.ZoneInfo: key is not str");
    zoneNamed(args[0]); // validates the key now, with a clear error
    return new PyTimezone(undefined, args[0]);
  },
};

const zoneInfoUnpickle: GlobalHandler = { call: (args) => zoneInfoHandler.call!(args) };
callOnlyHandlers.add(zoneInfoUnpickle);

/**
 * builtins.getattr is an exploit gadget (getattr(os, "system")). Two forms are
 * accepted: getattr(zoneinfo.ZoneInfo, "_unpickle"), how CPython pickles zone-aware
 * datetimes, and getattr(C, "NAME") for an allow-listed C whose handler has `member`
 * (an Enum pickled by name). getattr itself, and what the zoneinfo form returns, may
 * only be called: the decoder refuses a stream that leaves either in the value.
 */
const getattrHandler = (module: string): GlobalHandler => {
  const handler: GlobalHandler = {
    call(args) {
      const [target, attr] = args;
      if (
        args.length === 2 &&
        target instanceof PyGlobal &&
        target.module === "zoneinfo" &&
        target.name === "ZoneInfo" &&
        attr === "_unpickle"
      ) {
        return new PyGlobal("zoneinfo", "ZoneInfo._unpickle", zoneInfoUnpickle);
      }
      const member = target instanceof PyGlobal ? target.handler?.member : undefined;
      if (args.length === 2 && member !== undefined && typeof attr === "string") {
        return member.call((target as PyGlobal).handler, attr);
      }
      const what = target instanceof PyGlobal ? `${target.module}.${target.name}` : typeof target;
      throw forbiddenGlobal(
        module,
        "getattr",
        `is only allowed as getattr(zoneinfo.ZoneInfo, '_unpickle'), not getattr(${what}, ${JSON.stringify(String(attr))})`,
      );
    },
  };
  callOnlyHandlers.add(handler);
  return handler;
};

/** decimal.Decimal -> its exact decimal string ("1.23", "-0", "NaN", "Infinity"). */
const decimalHandler: GlobalHandler = {
  call(args) {
    arity("decimal", "Decimal", args, 0, 1);
    const v = args[0] ?? "0";
    if (typeof v === "string") return v;
    if (typeof v === "number" || typeof v === "bigint") return String(v);
    throw new PickleError("MALFORMED", "decimal.Decimal: argument is not str");
  },
};

/** datetime.datetime/date/time/timedelta/timezone and zoneinfo-aware datetimes. */
export const datetimeGlobals: GlobalsMap = Object.freeze({
  "datetime.datetime": datetimeHandler,
  "datetime.date": dateHandler,
  "datetime.time": timeHandler,
  "datetime.timedelta": timedeltaHandler,
  "datetime.timezone": timezoneHandler,
  "zoneinfo.ZoneInfo": zoneInfoHandler,
  "builtins.getattr": getattrHandler("builtins"),
  "__builtin__.getattr": getattrHandler("__builtin__"),
});

export const decimalGlobals: GlobalsMap = Object.freeze({ "decimal.Decimal": decimalHandler });

/** What `loads` allows when no `globals` option is given. */
export const defaultGlobals: GlobalsMap = Object.freeze({ ...datetimeGlobals, ...decimalGlobals });

// ---------------------------------------------------------------------------------------
// Application types

/**
 * An Enum member pickles as `Class(value)`, or, by early CPython 3.11 releases, by name
 * as `getattr(Class, "NAME")`. By default a member decodes to its value
 * (`Direction.LONG` -> "多"); `values` maps values to anything else (e.g.
 * `{ "多": "LONG" }`; unknown values are then refused). A member pickled by name needs
 * `members` (name -> value, e.g. `{ LONG: "多", SHORT: "空" }`) so it decodes to the
 * same value whichever Python wrote it; an unknown name is refused.
 */
export function enumGlobal(
  o: { values?: Readonly<Record<string, unknown>>; members?: Readonly<Record<string, unknown>> } = {},
): GlobalHandler {
  const mapValue = (v: unknown): unknown => {
    if (o.values === undefined) return v;
    const key = String(v);
    if (!Object.hasOwn(o.values, key))
      throw new PickleError("MALFORMED", `enum value ${JSON.stringify(key)} is not mapped`);
    return o.values[key];
  };
  return {
    call(args) {
      if (args.length !== 1) throw new PickleError("MALFORMED", `enum expects one value, got ${args.length}`);
      return mapValue(args[0]);
    },
    member(name) {
      if (o.members === undefined) {
        throw new PickleError(
          "MALFORMED",
          `enum member ${JSON.stringify(name)} was pickled by name (CPython 3.11's getattr form): list the members, enumGlobal({ members: { NAME: value } })`,
        );
      }
      if (!Object.hasOwn(o.members, name))
        throw new PickleError("MALFORMED", `enum member ${JSON.stringify(name)} is not listed`);
      return mapValue(o.members[name]);
    },
  };
}

/**
 * A dataclass (or any plain object) pickles as NEWOBJ + BUILD(state). It decodes to a
 * null-prototype object with the instance's fields. `typeKey` adds the class name under
 * that key (e.g. `typeKey: "__type__"` gives `{ __type__: "TickData", ... }`).
 */
export function dataclassGlobal(o: { typeKey?: string; typeName?: string } = {}): GlobalHandler {
  const make = (): Record<string, unknown> => {
    const obj: Record<string, unknown> = Object.create(null);
    if (o.typeKey !== undefined) obj[o.typeKey] = o.typeName ?? "";
    return obj;
  };
  return {
    create: () => make(),
    call: () => make(),
    build(obj, state) {
      const target = obj as Record<string, unknown>;
      // state is the instance __dict__, or (dict | None, slots dict) for __slots__ classes.
      const parts = Array.isArray(state) && state.length === 2 ? state : [state];
      for (const part of parts) {
        if (part === null || part === undefined) continue;
        if (part instanceof Map) {
          for (const [k, v] of part) if (typeof k === "string") target[k] = v;
        } else if (typeof part === "object" && Object.getPrototypeOf(part) === null) {
          for (const k of Object.keys(part)) target[k] = (part as Record<string, unknown>)[k];
        } else {
          throw new PickleError("MALFORMED", "dataclass state is not a dict");
        }
      }
    },
  };
}

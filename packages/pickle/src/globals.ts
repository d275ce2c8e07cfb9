import { PickleError, forbiddenGlobal } from "./errors.js";

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
 * A global without the needed member is refused with FORBIDDEN_GLOBAL.
 */
export interface GlobalHandler {
  call?(args: unknown[]): unknown;
  create?(args: unknown[], kwargs: Record<string, unknown> | undefined): unknown;
  build?(obj: unknown, state: unknown): void;
}

/** Allow-list: keys are `"module.qualname"`, e.g. `"vnpy.trader.constant.Direction"`. */
export type GlobalsMap = Readonly<Record<string, GlobalHandler>>;

/**
 * A reference to a Python global. The decoder pushes one for GLOBAL/STACK_GLOBAL (only
 * after the allow-list check); it reaches the result only when the stream pickles a
 * class itself. `dumps` writes it back as STACK_GLOBAL.
 */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
    readonly handler?: GlobalHandler,
  ) {}
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

const setOf = (what: string): GlobalHandler => ({
  call(args) {
    arity("builtins", what, args, 0, 1);
    const src = args[0];
    if (src === undefined) return new Set();
    if (Array.isArray(src) || src instanceof Set) return new Set(src as Iterable<unknown>);
    throw new PickleError("MALFORMED", `builtins.${what}: argument is not a list`);
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
  constructor(
    readonly offsetSeconds: number | undefined,
    readonly zone: string | undefined,
    readonly label?: string,
  ) {}
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

const zoneFormatters = new Map<string, Intl.DateTimeFormat>();

/** UTC offset (ms) of an IANA zone at an instant, from the runtime's ICU data. */
function zoneOffsetMs(zone: string, utcMs: number): number {
  let fmt = zoneFormatters.get(zone);
  if (fmt === undefined) {
    try {
      fmt = new Intl.DateTimeFormat("en-US", {
        timeZone: zone,
        hourCycle: "h23",
        year: "numeric",
        month: "numeric",
        day: "numeric",
        hour: "numeric",
        minute: "numeric",
        second: "numeric",
      });
    } catch (cause) {
      throw new PickleError("MALFORMED", `unknown time zone ${JSON.stringify(zone)}`, { cause });
    }
    if (zoneFormatters.size < 1000) zoneFormatters.set(zone, fmt);
  }
  const parts: Record<string, number> = {};
  for (const p of fmt.formatToParts(new Date(utcMs))) {
    if (p.type !== "literal") parts[p.type] = Number(p.value);
  }
  const wall = Date.UTC(parts.year ?? 0, (parts.month ?? 1) - 1, parts.day, parts.hour, parts.minute, parts.second);
  return wall - (utcMs - (((utcMs % 1000) + 1000) % 1000));
}

/** Wall-clock time in a zone to an instant, resolving gaps and folds as Python does. */
function zoneWallToUtc(zone: string, wallMs: number, fold: boolean): number {
  const day = 86_400_000;
  const before = zoneOffsetMs(zone, wallMs - day);
  const after = zoneOffsetMs(zone, wallMs + day);
  const early = wallMs - before;
  const late = wallMs - after;
  const earlyOk = zoneOffsetMs(zone, early) === before;
  const lateOk = zoneOffsetMs(zone, late) === after;
  if (!fold) return earlyOk || !lateOk ? early : late;
  return lateOk || !earlyOk ? late : early;
}

function wallClock(year: number, month: number, day: number, h: number, mi: number, s: number, us: number): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(h, mi, s, Math.floor(us / 1000));
  return d.getTime();
}

function pad(n: number, w: number): string {
  return String(n).padStart(w, "0");
}

/** datetime.datetime -> Date (ms precision). Naive datetimes are read as UTC. */
const datetimeHandler: GlobalHandler = {
  call(args) {
    arity("datetime", "datetime", args, 1, 2);
    const b = stateBytes(args[0], 10, "datetime.datetime");
    const tz = tzArg(args[1], "datetime.datetime");
    const month = b[2]! & 0x7f;
    const fold = (b[2]! & 0x80) !== 0;
    const us = (b[7]! << 16) | (b[8]! << 8) | b[9]!;
    if (month < 1 || month > 12 || b[3]! < 1 || b[3]! > 31 || b[4]! > 23 || b[5]! > 59 || b[6]! > 59 || us > 999_999) {
      throw new PickleError("MALFORMED", "datetime.datetime: field out of range");
    }
    const wall = wallClock((b[0]! << 8) | b[1]!, month, b[3]!, b[4]!, b[5]!, b[6]!, us);
    if (tz === undefined) return new Date(wall);
    if (tz.zone !== undefined) return new Date(zoneWallToUtc(tz.zone, wall, fold));
    return new Date(wall - (tz.offsetSeconds ?? 0) * 1000);
  },
};

/** datetime.date -> "YYYY-MM-DD" (a Date would pretend to carry a time and zone). */
const dateHandler: GlobalHandler = {
  call(args) {
    arity("datetime", "date", args, 1, 1);
    const b = stateBytes(args[0], 4, "datetime.date");
    return `${pad((b[0]! << 8) | b[1]!, 4)}-${pad(b[2]!, 2)}-${pad(b[3]!, 2)}`;
  },
};

/** datetime.time -> "HH:MM:SS.ffffff" (tzinfo, if any, is dropped). */
const timeHandler: GlobalHandler = {
  call(args) {
    arity("datetime", "time", args, 1, 2);
    const b = stateBytes(args[0], 6, "datetime.time");
    const us = (b[3]! << 16) | (b[4]! << 8) | b[5]!;
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
    return days * 86400 + secs + us / 1e6;
  },
};

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
    zoneOffsetMs(args[0], 0); // validates the key now, with a clear error
    return new PyTimezone(undefined, args[0]);
  },
};

/**
 * builtins.getattr is an exploit gadget (getattr(os, "system")). CPython pickles
 * zone-aware datetimes as getattr(zoneinfo.ZoneInfo, "_unpickle"): that exact form is
 * the only one accepted.
 */
const getattrHandler = (module: string): GlobalHandler => ({
  call(args) {
    const [target, attr] = args;
    if (
      args.length === 2 &&
      target instanceof PyGlobal &&
      target.module === "zoneinfo" &&
      target.name === "ZoneInfo" &&
      attr === "_unpickle"
    ) {
      return new PyGlobal("zoneinfo", "ZoneInfo._unpickle", zoneInfoHandler);
    }
    const what = target instanceof PyGlobal ? `${target.module}.${target.name}` : typeof target;
    throw forbiddenGlobal(
      module,
      "getattr",
      `is only allowed as getattr(zoneinfo.ZoneInfo, '_unpickle'), not getattr(${what}, ${JSON.stringify(String(attr))})`,
    );
  },
});

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
 * An Enum pickles as `Class(value)`. By default the member decodes to its value
 * (`Direction.LONG` -> "多"); pass `values` to map values to anything else
 * (e.g. `{ "多": "LONG" }`). Unknown values are refused unless `values` is omitted.
 */
export function enumGlobal(o: { values?: Readonly<Record<string, unknown>> } = {}): GlobalHandler {
  return {
    call(args) {
      if (args.length !== 1) throw new PickleError("MALFORMED", `enum expects one value, got ${args.length}`);
      const v = args[0];
      if (o.values === undefined) return v;
      const key = String(v);
      if (!Object.hasOwn(o.values, key))
        throw new PickleError("MALFORMED", `enum value ${JSON.stringify(key)} is not mapped`);
      return o.values[key];
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

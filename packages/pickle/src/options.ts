import { type GlobalsMap, PyGlobal, builtinDataGlobals, datetimeHandler, defaultGlobals } from "./globals.js";
import { forbiddenGlobal } from "./errors.js";

export interface LoadLimits {
  /** Largest input accepted, in bytes. Default 64 MiB. */
  maxBytes?: number;
  /**
   * Deepest nesting of containers (lists, tuples, dicts, sets, objects), the same
   * measure `dumps` applies; at most 2 x maxDepth MARKs may be open at once. Default 1,000.
   */
  maxDepth?: number;
  /** Most memo entries, and the highest memo index a PUT may use. Default 1,000,000. */
  maxMemo?: number;
  /** Most values on the unpickler stack at once. Default 1,000,000. */
  maxStack?: number;
  /** Most containers (list, tuple, dict, set, object) built from one stream. Default 1,000,000. */
  maxContainers?: number;
  /** Longest int in bytes (LONG1/LONG4). Default 4,096 (about 9,860 decimal digits). */
  maxIntBytes?: number;
}

export interface LoadOptions extends LoadLimits {
  /**
   * Allow-list of globals, keyed "module.qualname". Default `defaultGlobals` (datetime,
   * zoneinfo, Decimal). Pass `{ ...defaultGlobals, "app.Side": enumGlobal() }` to add;
   * `{}` refuses every global. set/frozenset/bytearray/bytes constructors used by
   * protocols 2-3 are always accepted (they only build data).
   */
  globals?: GlobalsMap;
  /** Python tuples decode to plain arrays ("array", default) or arrays marked by tuple() ("tuple"). */
  tuples?: "array" | "tuple";
  /**
   * "auto" (default): a dict whose keys are all str becomes a null-prototype object,
   * any other dict a Map. "map": every dict becomes a Map.
   */
  dicts?: "auto" | "map";
}

export interface ResolvedLoadOptions {
  readonly maxBytes: number;
  readonly maxDepth: number;
  readonly maxMemo: number;
  readonly maxStack: number;
  readonly maxContainers: number;
  readonly maxIntBytes: number;
  readonly markTuples: boolean;
  readonly mapDicts: boolean;
  /** datetime.datetime when it is the built-in handler: loads then reads CPython's datetimes directly. */
  readonly datetimeClass: PyGlobal | undefined;
  resolveGlobal(module: string, name: string): PyGlobal;
}

function limit(v: number | undefined, dflt: number, what: string): number {
  if (v === undefined) return dflt;
  if (!(v >= 0)) throw new RangeError(`${what} must be a non-negative number`);
  return v;
}

function resolve(o: LoadOptions): ResolvedLoadOptions {
  const globals = o.globals ?? defaultGlobals;
  const cache = new Map<string, PyGlobal>();
  const resolved: ResolvedLoadOptions = {
    maxBytes: limit(o.maxBytes, 64 * 1024 * 1024, "maxBytes"),
    // Heights are kept in 30 bits (see loads).
    maxDepth: Math.min(limit(o.maxDepth, 1000, "maxDepth"), 0x3fffffff - 1),
    maxMemo: limit(o.maxMemo, 1_000_000, "maxMemo"),
    maxStack: limit(o.maxStack, 1_000_000, "maxStack"),
    maxContainers: limit(o.maxContainers, 1_000_000, "maxContainers"),
    maxIntBytes: limit(o.maxIntBytes, 4096, "maxIntBytes"),
    markTuples: o.tuples === "tuple",
    mapDicts: o.dicts === "map",
    resolveGlobal(module, name) {
      const key = `${module}.${name}`;
      const hit = cache.get(key);
      if (hit !== undefined) return hit;
      // hasOwn: a key can never reach Object.prototype members through the allow-list.
      const handler = Object.hasOwn(globals, key)
        ? globals[key]
        : Object.hasOwn(builtinDataGlobals, key)
          ? builtinDataGlobals[key]
          : undefined;
      if (handler === undefined) throw forbiddenGlobal(module, name);
      const g = new PyGlobal(module, name, handler);
      if (cache.size < 10_000) cache.set(key, g);
      return g;
    },
    datetimeClass: undefined,
  };
  if (Object.hasOwn(globals, "datetime.datetime") && globals["datetime.datetime"] === datetimeHandler) {
    return { ...resolved, datetimeClass: resolved.resolveGlobal("datetime", "datetime") };
  }
  return resolved;
}

const EMPTY: LoadOptions = {};
const resolved = new WeakMap<LoadOptions, ResolvedLoadOptions>();

/** Options objects are usually reused per codec: resolve each once. */
export function resolveLoadOptions(o: LoadOptions | undefined): ResolvedLoadOptions {
  if (o === undefined) {
    defaults ??= resolve(EMPTY);
    return defaults;
  }
  // A codec passes the same object every call: skip the WeakMap for it.
  if (o === lastKey && last !== undefined) return last;
  let r = resolved.get(o);
  if (r === undefined) {
    r = resolve(o);
    resolved.set(o, r);
  }
  lastKey = o;
  last = r;
  return r;
}

let defaults: ResolvedLoadOptions | undefined;
let lastKey: LoadOptions | undefined;
let last: ResolvedLoadOptions | undefined;

import { PickleError } from "./errors.js";
import { asFrozenSet, isFrozenSet } from "./frozenset.js";
import { isTuple } from "./tuple.js";

/**
 * The Python helper's JSON dialect (see python-scripts/pickle_helper.py): plain JSON
 * plus single-key tagged objects for what JSON cannot carry. Decoded values follow the
 * native codec's default mapping, so both codecs are interchangeable.
 */
export type Tagged = null | boolean | number | string | Tagged[] | { [k: string]: Tagged };

function hasDollarKey(o: object): boolean {
  for (const k of Object.keys(o)) if (k.startsWith("$")) return true;
  return false;
}

export function toTagged(v: unknown, depth = 0): Tagged {
  if (depth > 1000) throw new PickleError("LIMIT_EXCEEDED", "value nests deeper than 1000 (or is recursive)");
  switch (typeof v) {
    case "string":
    case "boolean":
      return v;
    case "undefined":
      return null;
    case "number":
      if (Number.isSafeInteger(v) && !Object.is(v, -0)) return v;
      if (Number.isNaN(v)) return { $float: "nan" };
      if (v === Number.POSITIVE_INFINITY) return { $float: "inf" };
      if (v === Number.NEGATIVE_INFINITY) return { $float: "-inf" };
      if (Object.is(v, -0)) return { $float: "-0" };
      return Number.isInteger(v) ? { $float: String(v) } : v;
    case "bigint":
      return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : { $int: v.toString() };
    case "object": {
      if (v === null) return null;
      const d = depth + 1;
      if (Array.isArray(v)) {
        const items = v.map((x) => toTagged(x, d));
        return isTuple(v) ? { $tuple: items } : items;
      }
      if (v instanceof Uint8Array) return { $bytes: Buffer.from(v.buffer, v.byteOffset, v.length).toString("base64") };
      if (v instanceof Date) return { $datetime: v.toISOString() };
      if (v instanceof Set) {
        const items = [...v].map((x) => hashableTagged(x, d));
        return isFrozenSet(v) ? { $frozenset: items } : { $set: items };
      }
      if (v instanceof Map) return { $dict: [...v].map(([k, x]) => [hashableTagged(k, d), toTagged(x, d)]) };
      const o = v as Record<string, unknown>;
      if (hasDollarKey(o)) return { $dict: Object.keys(o).map((k) => [k, toTagged(o[k], d)]) };
      const out: Record<string, Tagged> = {};
      for (const k of Object.keys(o)) out[k] = toTagged(o[k], d);
      return out;
    }
    default:
      throw new PickleError("UNSUPPORTED", `cannot pickle a ${typeof v}`);
  }
}

/** A dict key or set item: arrays become tuples and Sets frozensets, all the way down (Python hashes only those). */
function hashableTagged(v: unknown, depth: number): Tagged {
  if (depth > 1000) throw new PickleError("LIMIT_EXCEEDED", "value nests deeper than 1000 (or is recursive)");
  if (Array.isArray(v)) return { $tuple: v.map((x) => hashableTagged(x, depth + 1)) };
  if (v instanceof Set) return { $frozenset: [...v].map((x) => hashableTagged(x, depth + 1)) };
  return toTagged(v, depth);
}

function fromFloat(s: string): number {
  if (s === "nan") return Number.NaN;
  if (s === "inf") return Number.POSITIVE_INFINITY;
  if (s === "-inf") return Number.NEGATIVE_INFINITY;
  if (s === "-0") return -0;
  return Number(s);
}

function fromInt(s: string): number | bigint {
  const b = BigInt(s);
  return b >= -9007199254740991n && b <= 9007199254740991n ? Number(b) : b;
}

export function fromTagged(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(fromTagged);
  if (typeof v !== "object" || v === null) return v;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1) {
    const x = o[keys[0]!];
    switch (keys[0]) {
      case "$tuple":
        return (x as unknown[]).map(fromTagged);
      case "$bytes":
        return Buffer.from(x as string, "base64");
      case "$set":
        return new Set((x as unknown[]).map(fromTagged));
      case "$frozenset":
        return asFrozenSet(new Set((x as unknown[]).map(fromTagged)));
      case "$dict": {
        const pairs = (x as [unknown, unknown][]).map(([k, val]) => [fromTagged(k), fromTagged(val)] as const);
        if (pairs.every(([k]) => typeof k === "string")) {
          const out: Record<string, unknown> = Object.create(null);
          for (const [k, val] of pairs) out[k as string] = val;
          return out;
        }
        return new Map(pairs);
      }
      case "$int":
        return fromInt(x as string);
      case "$float":
        return fromFloat(x as string);
      case "$datetime": {
        // Python isoformat: naive has no offset (read as UTC, like the native codec).
        const s = x as string;
        const aware = /[+-]\d\d:\d\d(:\d\d(\.\d+)?)?$/.test(s.slice(10));
        return new Date(aware ? s : `${s}Z`);
      }
    }
  }
  const out: Record<string, unknown> = Object.create(null);
  for (const k of keys) out[k] = fromTagged(o[k]);
  return out;
}

import { TRPCError } from "@trpc/server";
import superjson from "superjson";
import { MAX_JSON_DEPTH, nestedDeeperThan } from "./json-depth.js";
import { isSharedEventData } from "./shared-events.js";

/** Keys superjson refuses or rewrites itself (prototype pollution guards): left to it. */
const RESERVED_KEYS = new Set(["__proto__", "constructor", "prototype"]);

/**
 * True when superjson would add nothing: only strings, finite numbers (not -0),
 * booleans, null, plain objects and arrays, no object reached twice (superjson
 * records shared references), no reserved key. Then its output is exactly
 * { json: value }, with the same JSON text.
 */
function isPlainJson(value: unknown, seen: Set<object>): boolean {
  if (value === null || typeof value === "string" || typeof value === "boolean") return true;
  if (typeof value === "number") return Number.isFinite(value) && !Object.is(value, -0);
  if (typeof value !== "object") return false;
  if (seen.has(value)) return false;
  seen.add(value);
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return false;
    // Indexed reads: a hole reads as undefined and falls back to superjson, like undefined itself.
    for (let i = 0; i < value.length; i++) if (!isPlainJson(value[i], seen)) return false;
    return true;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const key of Object.keys(value)) {
    if (RESERVED_KEYS.has(key) || !isPlainJson((value as Record<string, unknown>)[key], seen)) return false;
  }
  return true;
}

/**
 * superjson on the wire (the SDK's links use it), with its walk skipped when there
 * is nothing to annotate. superjson.serialize builds a path array and an identity
 * map entry for every node of every reply, and deserialize deep-copies every input;
 * for the plain JSON that almost every reply and input is, that was ~5% of the
 * gateway's CPU per call (and runs once per subscriber per event). Anything else
 * (Date, Map, undefined, NaN, shared references, ...) goes through superjson itself.
 */
/**
 * Whether a shared event's data (shared-events.ts) is plain JSON, decided once per
 * event (not once per subscriber): no Date, Map, Buffer, undefined, shared reference.
 */
const plainVerdicts = new WeakMap<object, boolean>();

export function isPlainSharedData(data: object): boolean {
  let verdict = plainVerdicts.get(data);
  if (verdict === undefined) {
    verdict = isPlainJson(data, new Set());
    plainVerdicts.set(data, verdict);
  }
  return verdict;
}

/** A subscription's tracked item as tRPC's ws adapter hands it over: { id: eventId, data: sharedEventData }. */
function isTrackedSharedItem(value: unknown): value is { id: string; data: object } {
  if (typeof value !== "object" || value === null || Object.getPrototypeOf(value) !== Object.prototype) return false;
  const item = value as { id?: unknown; data?: unknown };
  return typeof item.id === "string" && isSharedEventData(item.data) && Object.keys(value).length === 2;
}

export const transformer = {
  serialize(value: unknown): unknown {
    // An event delivered to many subscribers: its data was checked once, the envelope adds a string.
    if (isTrackedSharedItem(value) && isPlainSharedData(value.data)) return { json: value };
    return isPlainJson(value, new Set()) ? { json: value } : superjson.serialize(value);
  },
  deserialize(payload: unknown): unknown {
    // Only inputs are deserialized here (over HTTP and WebSocket alike): a body nested past
    // the bound is refused before superjson or zod recurse into it.
    if (nestedDeeperThan(payload, MAX_JSON_DEPTH + 1)) {
      throw new TRPCError({ code: "BAD_REQUEST", message: `Input nests deeper than ${MAX_JSON_DEPTH} levels` });
    }
    // No meta: nothing to restore, and the parsed JSON is already a fresh object
    // (superjson's copy only protects its own in-place annotation pass).
    if (typeof payload === "object" && payload !== null && !("meta" in payload)) {
      return (payload as { json?: unknown }).json;
    }
    return superjson.deserialize(payload as Parameters<typeof superjson.deserialize>[0]);
  },
};

import { jsonEncoder } from "@trpc/server/adapters/ws";
import { isSharedEventData, sharedJsonText } from "../shared-events.js";
import { noteEncodedReply } from "./call-clock.js";

/*
 * tRPC's ws adapter encodes every message with JSON.stringify: for a market tick
 * followed by 1,000 subscribers, the same event data was stringified 1,000 times
 * (with the superjson walk, ~15% of the gateway's CPU under fan-out). This
 * encoder writes the frame of a subscription item whose data is a shared event
 * (shared-events.ts) around the event's JSON text, made once per event; only the
 * per-subscriber envelope (the subscription's id, the event id) is stringified
 * per frame. Everything else is JSON.stringify as before. The frame is the
 * same JSON that JSON.stringify would write for it (key order aside).
 */

interface TrackedDataResponse {
  id: string | number;
  jsonrpc?: "2.0";
  result: { type: "data"; id: string; data: { json: { id: string; data: object }; meta?: undefined } };
}

function isSharedEventFrame(message: unknown): message is TrackedDataResponse {
  const result = (message as { result?: { type?: unknown; id?: unknown; data?: unknown } } | null)?.result;
  if (result?.type !== "data" || typeof result.id !== "string") return false;
  const payload = result.data as { json?: { id?: unknown; data?: unknown }; meta?: unknown } | undefined;
  if (typeof payload !== "object" || payload === null || payload.meta !== undefined) return false;
  const item = payload.json;
  return (
    typeof item === "object" &&
    item !== null &&
    typeof item.id === "string" &&
    isSharedEventData(item.data) &&
    Object.keys(result).length === 3 &&
    Object.keys(payload).length === 1 &&
    Object.keys(item).length === 2
  );
}

/** The part of a frame after the subscription's own id, the same for every subscriber of one event. */
const frameTails = new WeakMap<object, { eventId: string; tail: string }>();

function frameTail(eventId: string, item: { id: string; data: object }): string {
  const cached = frameTails.get(item.data);
  if (cached && cached.eventId === eventId && eventId === item.id) return cached.tail;
  const tail =
    `"result":{"type":"data","id":${JSON.stringify(eventId)},` +
    `"data":{"json":{"id":${JSON.stringify(item.id)},"data":${sharedJsonText(item.data)}}}}}`;
  if (eventId === item.id) frameTails.set(item.data, { eventId, tail });
  return tail;
}

function encodeSharedEventFrame(message: TrackedDataResponse): string {
  const id = typeof message.id === "number" ? String(message.id) : JSON.stringify(message.id);
  const jsonrpc = message.jsonrpc === "2.0" ? '"jsonrpc":"2.0",' : "";
  return `{"id":${id},${jsonrpc}${frameTail(message.result.id, message.result.data.json)}`;
}

export const wsEncoder = {
  encode(message: unknown): string {
    if (isSharedEventFrame(message)) {
      const keys = Object.keys(message);
      if (keys.length === 2 || (keys.length === 3 && message.jsonrpc === "2.0")) return encodeSharedEventFrame(message);
    }
    noteEncodedReply(message);
    return JSON.stringify(message);
  },
  decode: jsonEncoder.decode,
};

import type { Framing } from "../backend/stream.js";
import type { TopicEvent } from "../backend/subscriber.js";
import { isSharedEventData, sharedJsonText } from "../shared-events.js";
import { isPlainSharedData, transformer } from "../transformer.js";

/*
 * tRPC's ws adapter runs a subscription as a loop over its async iterator: per
 * item a race against the abort signal, two promise hops, the response object
 * spread twice (transformTRPCResponse) and the encoder. Under fan-out that is
 * once per event per subscriber: about a fifth of the gateway's CPU in the
 * watch-list profile (1,000 subscribers x 50 events/s). A feed's stream writes
 * its frames to the socket itself instead (stream.pump), each the frame tRPC's
 * loop would have written; tRPC keeps the subscription's lifecycle: "started",
 * stop and abort, the error and "stopped" at the end. The iterator it is given
 * has one next(), which settles when the stream ends.
 *
 * A frame carries the subscription's JSON-RPC id, which tRPC does not hand to
 * procedures. The ws encoder's decode (ours, ws-encoder.ts) sees every message
 * first and notes the id against the message's input object, which reaches the
 * procedure as its raw input unchanged: parseTRPCMessage passes it through
 * transformer.deserialize, which returns plain JSON as it is. Only an input
 * tRPC would copy is out of reach: one with superjson meta, or not an object.
 * A subscription whose address is not found is served by tRPC's own loop, as
 * before (gateway_subscription_streams_total says which way each one went).
 */

/** The JSON-RPC address of one subscription on its socket. */
export interface SubscriptionAddress {
  readonly id: string | number;
  readonly jsonrpc: "2.0" | undefined;
}

const addresses = new WeakMap<object, SubscriptionAddress>();

interface SubscriptionMessage {
  id?: unknown;
  jsonrpc?: unknown;
  method?: unknown;
  params?: { input?: unknown; lastEventId?: unknown };
}

function noteOne(message: SubscriptionMessage): void {
  if (message?.method !== "subscription") return;
  const { id, jsonrpc, params } = message;
  if ((typeof id !== "string" && typeof id !== "number") || (jsonrpc !== undefined && jsonrpc !== "2.0")) return;
  const raw = params?.input as { json?: unknown; meta?: unknown } | undefined;
  if (typeof raw !== "object" || raw === null || "meta" in raw) return;
  const input = raw.json;
  if (typeof input !== "object" || input === null || Array.isArray(input)) return;
  // tRPC would merge a resent lastEventId into a copy of the input ({ ...input, lastEventId }):
  // merged here, in place, the input object stays the one noted.
  const lastEventId = params?.lastEventId;
  if (typeof lastEventId === "string") {
    (input as Record<string, unknown>).lastEventId = lastEventId;
    delete params!.lastEventId;
  }
  addresses.set(input, { id, jsonrpc });
}

/** Notes the address of each subscription request in a decoded ws message (one request or a batch). */
export function noteSubscriptionAddresses(decoded: unknown): void {
  if (Array.isArray(decoded)) {
    for (const message of decoded) if (typeof message === "object" && message !== null) noteOne(message);
  } else if (typeof decoded === "object" && decoded !== null) noteOne(decoded as SubscriptionMessage);
}

/** The address noted for a subscription's raw input, if tRPC passed it through. */
export function subscriptionAddressOf(rawInput: unknown): SubscriptionAddress | undefined {
  return typeof rawInput === "object" && rawInput !== null ? addresses.get(rawInput) : undefined;
}

/** The part of a frame after the subscription's own id, the same for every subscriber of one event. */
const frameTails = new WeakMap<object, { eventId: string; tail: string }>();

function sharedFrameTail(eventId: string, data: object): string {
  const cached = frameTails.get(data);
  if (cached && cached.eventId === eventId) return cached.tail;
  const id = JSON.stringify(eventId);
  const tail = `"result":{"type":"data","id":${id},"data":{"json":{"id":${id},"data":${sharedJsonText(data)}}}}}`;
  frameTails.set(data, { eventId, tail });
  return tail;
}

/** A frame's start: the subscription's id, the same for every frame of one subscription. */
function frameHead(address: SubscriptionAddress): string {
  return `{"id":${JSON.stringify(address.id)},${address.jsonrpc === "2.0" ? '"jsonrpc":"2.0",' : ""}`;
}

/**
 * The text of one tracked item's frame: what tRPC's loop writes for tracked(event.id,
 * data), { id, jsonrpc, result: { type: "data", id, data: serialize({ id, data }) } }.
 * An event shared by every subscriber of its topic and plain JSON is written around
 * its JSON text, made once (shared-events.ts); only the subscription's id differs.
 */
export function trackedFrame(
  address: SubscriptionAddress,
  eventId: string,
  data: unknown,
  head: string = frameHead(address),
): string {
  if (isSharedEventData(data) && isPlainSharedData(data)) return head + sharedFrameTail(eventId, data);
  return JSON.stringify({
    id: address.id,
    jsonrpc: address.jsonrpc,
    result: { type: "data", id: eventId, data: transformer.serialize({ id: eventId, data }) },
  });
}

/** A stream's framing for one subscription whose frames it writes itself. */
export function directFraming(address: SubscriptionAddress, errors: Omit<Framing<string>, "event">): Framing<string> {
  const head = frameHead(address);
  return {
    event: (event: TopicEvent, data: unknown) => trackedFrame(address, event.id, data, head),
    expired: errors.expired,
    revoked: errors.revoked,
  };
}

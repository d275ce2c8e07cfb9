import { TRPCError, type TrackedEnvelope, tracked } from "@trpc/server";
import type { Metrics } from "../metrics.js";
import { type PubSubscriber, type TopicEvent, seqOfEventId } from "./subscriber.js";

/** How a subscription sees its WebSocket: enough to hold back while the client is slow. */
export interface ConnectionHandle {
  /** Bytes queued on the socket and not yet sent. */
  bufferedAmount(): number;
}

export interface StreamOptions {
  subscriber: PubSubscriber;
  topics: readonly string[];
  lastEventId?: string | null | undefined;
  signal: AbortSignal | undefined;
  /** Events kept while the client is not reading; beyond it the oldest are dropped. */
  queueSize: number;
  metrics: Metrics;
  kind: string;
  connection?: ConnectionHandle | null | undefined;
  /** Above this many buffered bytes the stream waits (and its queue starts dropping). */
  maxBufferedBytes: number;
  /** The caller's token expiry (ms since epoch): the stream ends with UNAUTHORIZED then. */
  expiresAt?: number | undefined;
  /** Optional per-event filter (e.g. per-account permission). */
  accept?: (event: TopicEvent) => boolean;
  /** Turns an event's data into what the subscription yields. */
  map?: (data: unknown) => unknown;
  /** Ends the stream after yielding an event for which this returns true. */
  isLast?: (event: TopicEvent) => boolean;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Starts listening to `topics` at once (so a snapshot fetched afterwards
 * cannot miss an event) and returns the events as tracked tRPC events: first
 * what the ring buffers hold after `lastEventId`, then live ones.
 *
 * Memory per subscriber is bounded: the queue drops its oldest events when the
 * client falls behind, and the stream stops pulling while the socket's send
 * buffer is over the limit. close() (or the signal) ends it.
 */
export function openTopicStream<T>(o: StreamOptions): {
  events: AsyncGenerator<TrackedEnvelope<T>, void, unknown>;
  close: () => void;
} {
  const queue: TopicEvent[] = [];
  let wake: (() => void) | undefined;
  let closed = false;
  let expired = false;

  const push = (event: TopicEvent) => {
    if (o.accept && !o.accept(event)) return;
    queue.push(event);
    if (queue.length > o.queueSize) {
      queue.shift();
      o.metrics.pubsubDropped.inc({ kind: o.kind });
    }
    wake?.();
  };
  const listening = o.subscriber.listen(o.topics, push, seqOfEventId(o.lastEventId));
  for (const event of listening.replay) push(event);
  o.metrics.subscriptions.inc({ kind: o.kind });

  const onAbort = () => wake?.();
  o.signal?.addEventListener("abort", onAbort);
  // A subscription outlives the middleware that checked the token: end it when the token does.
  const expiryTimer =
    o.expiresAt !== undefined
      ? setTimeout(
          () => {
            expired = true;
            wake?.();
          },
          Math.max(0, Math.min(o.expiresAt - Date.now(), 2 ** 31 - 1)),
        )
      : undefined;

  const close = () => {
    if (closed) return;
    closed = true;
    if (expiryTimer) clearTimeout(expiryTimer);
    o.signal?.removeEventListener("abort", onAbort);
    listening.close();
    o.metrics.subscriptions.dec({ kind: o.kind });
    wake?.();
  };
  const ended = () => closed || o.signal?.aborted === true;

  async function* events(): AsyncGenerator<TrackedEnvelope<T>, void, unknown> {
    try {
      while (!ended()) {
        if (expired) throw new TRPCError({ code: "UNAUTHORIZED", message: "Token expired; reconnect with a fresh token" });
        if (queue.length === 0) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = undefined;
          continue;
        }
        while (o.connection && o.connection.bufferedAmount() > o.maxBufferedBytes && !ended()) {
          await sleep(50, o.signal);
        }
        if (ended()) break;
        const event = queue.shift()!;
        yield tracked(event.id, (o.map ? o.map(event.data) : event.data) as T);
        if (o.isLast?.(event)) return;
      }
    } finally {
      close();
    }
  }

  return { events: events(), close };
}

/** openTopicStream as a plain generator, for subscriptions that need nothing before the events. */
export async function* streamTopics<T>(o: StreamOptions): AsyncGenerator<TrackedEnvelope<T>, void, unknown> {
  const stream = openTopicStream<T>(o);
  try {
    yield* stream.events;
  } finally {
    stream.close();
  }
}

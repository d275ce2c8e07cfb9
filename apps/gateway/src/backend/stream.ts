import { TRPCError, type TrackedEnvelope, tracked } from "@trpc/server";
import type { ConnectionHandle } from "../context.js";
import type { Metrics } from "../metrics.js";
import { eventIdOf, seqOfEventId } from "./event-id.js";
import type { PubSubscriber, TopicEvent } from "./subscriber.js";

/*
 * The stream layer: what one subscription receives, whatever the transport.
 * Resuming (replay after lastEventId, or a snapshot), the bounded queue, holding
 * back for a slow socket, the per-event scope and the token's expiry live here;
 * the SUB socket, topic ref-counts and ring buffers live in subscriber.ts.
 */

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
  /**
   * Watches the caller's token for revocation (logout, a password change): called once
   * with the listener, it returns the way to stop watching. The stream ends with
   * UNAUTHORIZED when the listener is called, exactly as at expiry.
   */
  revocation?: ((onRevoked: (why: string) => void) => () => void) | undefined;
  /** Per-event scope (authorization's eventScope): events whose data it refuses are not delivered. */
  accept?: ((data: unknown) => boolean) | undefined;
  /** Turns an event's data into what the subscription yields. */
  map?: (data: unknown) => unknown;
  /** Ends the stream after yielding an event for which this returns true. */
  isLast?: (event: TopicEvent) => boolean;
}

/** What a subscription hands tRPC: an async iterator without generator machinery. */
export type TopicEvents<T> = AsyncIterableIterator<TrackedEnvelope<T>>;

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });
/** How often a stream held back by a full socket buffer looks again. */
const BACKPRESSURE_POLL_MS = 50;

/**
 * Starts listening to `topics` at once (so a snapshot fetched afterwards
 * cannot miss an event) and returns the events as tracked tRPC events: first
 * what the ring buffers hold after `lastEventId`, then live ones.
 *
 * Memory per subscriber is bounded: the queue drops its oldest events when the
 * client falls behind, and the stream stops pulling while the socket's send
 * buffer is over the limit. close() (or the signal) ends it.
 *
 * Why a hand-written iterator and not an async generator: this runs once per
 * event per subscriber (20,000 times a second for 1,000 desk clients). A
 * generator behind `yield*` layers costs several promise hops per event; here
 * an event is one array write plus, when tRPC is already waiting, one resolve;
 * when it is not, next() answers from the queue with an already-resolved promise.
 */
export function openTopicStream<T>(o: StreamOptions): {
  events: TopicEvents<T>;
  close: () => void;
} {
  // Ring buffer: O(1) push and take, and dropping the oldest of a full queue is one index move.
  const capacity = Math.max(1, o.queueSize);
  let ring: Array<TopicEvent | undefined> = new Array(Math.min(capacity, 16));
  let head = 0;
  let size = 0;
  let closed = false;
  /** Set when the token expired or was revoked: what the stream ends with. */
  let expired: TRPCError | undefined;
  let finished = false;
  /** The pending next() of tRPC's loop, when the queue was empty. */
  let waiting: { resolve: (r: IteratorResult<TrackedEnvelope<T>>) => void; reject: (e: unknown) => void } | undefined;
  let backpressureTimer: NodeJS.Timeout | undefined;

  // A labelled child, resolved once: a drop storm must not hash labels per dropped event.
  const dropped = o.metrics.pubsubDropped.labels({ kind: o.kind });

  const take = (): TopicEvent => {
    const event = ring[head]!;
    ring[head] = undefined;
    head = (head + 1) % ring.length;
    size--;
    return event;
  };
  const grow = () => {
    const next = new Array<TopicEvent | undefined>(Math.min(capacity, ring.length * 2));
    for (let i = 0; i < size; i++) next[i] = ring[(head + i) % ring.length];
    ring = next;
    head = 0;
  };
  const envelope = (event: TopicEvent): IteratorResult<TrackedEnvelope<T>> => {
    if (o.isLast?.(event)) finished = true;
    return { done: false, value: tracked(event.id, (o.map ? o.map(event.data) : event.data) as T) };
  };
  const overLimit = () => o.connection != null && o.connection.bufferedAmount() > o.maxBufferedBytes;
  const ended = () => closed || finished || o.signal?.aborted === true;

  /** Hands the oldest queued event to a waiting next(), unless the socket is backed up. */
  const deliver = () => {
    if (!waiting || size === 0 || backpressureTimer) return;
    if (overLimit()) {
      backpressureTimer = setTimeout(() => {
        backpressureTimer = undefined;
        deliver();
      }, BACKPRESSURE_POLL_MS);
      return;
    }
    const w = waiting;
    waiting = undefined;
    w.resolve(envelope(take()));
  };
  /** Ends a pending next(): done, or the expiry error. */
  const settleWaiting = () => {
    const w = waiting;
    if (!w) return;
    waiting = undefined;
    if (expired && !closed) w.reject(expired);
    else w.resolve(DONE);
  };

  const push = (event: TopicEvent) => {
    if (closed || (o.accept && !o.accept(event.data))) return;
    if (size === ring.length) {
      if (size < capacity) grow();
      else {
        take();
        dropped.inc();
      }
    }
    ring[(head + size) % ring.length] = event;
    size++;
    if (waiting) deliver();
  };
  const listening = o.subscriber.listen(o.topics, push, seqOfEventId(o.lastEventId));
  for (const event of listening.replay) push(event);
  o.metrics.subscriptions.inc({ kind: o.kind });

  const close = () => {
    if (closed) return;
    closed = true;
    if (expiryTimer) clearTimeout(expiryTimer);
    stopWatching?.();
    if (backpressureTimer) clearTimeout(backpressureTimer);
    backpressureTimer = undefined;
    o.signal?.removeEventListener("abort", close);
    listening.close();
    ring = [];
    head = 0;
    size = 0;
    o.metrics.subscriptions.dec({ kind: o.kind });
    settleWaiting();
  };
  o.signal?.addEventListener("abort", close);
  // A subscription outlives the middleware that checked the token: end it when the token
  // expires or is revoked.
  const endWith = (error: TRPCError) => {
    if (expired || closed) return;
    expired = error;
    if (backpressureTimer) clearTimeout(backpressureTimer);
    backpressureTimer = undefined;
    settleWaiting();
  };
  const expiryTimer =
    o.expiresAt !== undefined
      ? setTimeout(() => endWith(expiredError()), Math.max(0, Math.min(o.expiresAt - Date.now(), 2 ** 31 - 1)))
      : undefined;
  const stopWatching = o.revocation?.((why) => endWith(revokedError(why)));
  if (o.signal?.aborted) close();

  const events: TopicEvents<T> = {
    next(): Promise<IteratorResult<TrackedEnvelope<T>>> {
      if (ended()) {
        close();
        return Promise.resolve(DONE);
      }
      if (expired) {
        const error = expired;
        close();
        return Promise.reject(error);
      }
      if (waiting) return Promise.reject(new Error("topic stream: next() called while a previous next() is pending"));
      if (size > 0 && !backpressureTimer && !overLimit()) return Promise.resolve(envelope(take()));
      return new Promise((resolve, reject) => {
        waiting = { resolve, reject };
        deliver();
      });
    },
    return(): Promise<IteratorResult<TrackedEnvelope<T>>> {
      close();
      return Promise.resolve(DONE);
    },
    throw(err?: unknown): Promise<IteratorResult<TrackedEnvelope<T>>> {
      close();
      return Promise.reject(err);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };

  return { events, close };
}

function expiredError(): TRPCError {
  return new TRPCError({ code: "UNAUTHORIZED", message: "Token expired; reconnect with a fresh token" });
}

function revokedError(why: string): TRPCError {
  return new TRPCError({ code: "UNAUTHORIZED", message: `Token revoked: ${why}` });
}

/** openTopicStream for subscriptions that need nothing before the events: return it from the resolver. */
export function streamTopics<T>(o: StreamOptions): TopicEvents<T> {
  return openTopicStream<T>(o).events;
}

/**
 * A stream that begins with the current state of one object (an execution):
 * listening starts first and the snapshot is taken after, so nothing published
 * in between is lost. The snapshot is sent unless the client resumes from an id
 * this process can replay from (then the buffered events follow that id); it
 * ends the stream when `snapshotIsLast` says the object is finished.
 */
export async function* streamFromSnapshot<T>(
  o: Omit<StreamOptions, "topics"> & {
    topic: string;
    snapshot: () => Promise<T>;
    snapshotIsLast: (snapshot: T) => boolean;
  },
): AsyncGenerator<TrackedEnvelope<T>> {
  const snapshotSeq = o.subscriber.currentSeq;
  const stream = openTopicStream<T>({
    ...o,
    topics: [o.topic],
    // Nothing from before the snapshot is replayed unless the client asked for it.
    lastEventId: o.lastEventId ?? eventIdOf(o.topic, snapshotSeq),
  });
  try {
    const snapshot = await o.snapshot();
    // An id from an earlier gateway process (sequence ahead of ours) cannot be replayed: send the state instead.
    const since = seqOfEventId(o.lastEventId);
    if (!o.lastEventId || since === undefined || since > snapshotSeq) {
      yield tracked(eventIdOf(o.topic, snapshotSeq), snapshot);
      if (o.snapshotIsLast(snapshot)) return;
    }
    yield* stream.events;
  } finally {
    stream.close();
  }
}

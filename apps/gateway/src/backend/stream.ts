import type { TopicKind } from "@desk/contracts";
import type { ConnectionHandle } from "../context.js";
import type { Metrics } from "../metrics.js";
import { eventIdOf, seqOfEventId } from "./event-id.js";
import type { PubSubscriber, TopicEvent } from "./subscriber.js";

/*
 * The stream layer: what one subscriber receives, whatever the transport. A
 * stream is one ordered, bounded queue fed by sources (the topics of a tRPC
 * subscription; every topic and execution a socket.io connection follows).
 * Resuming (replay after an event id, or a snapshot), the bounded queue, holding
 * back for a slow socket, the per-event scope and the token's expiry live here;
 * the SUB socket, topic ref-counts and ring buffers live in subscriber.ts.
 *
 * Transport-neutral: the transport says how an event is framed (tRPC's
 * tracked(), a socket.io event) and what a stream whose token expired ends with
 * (Framing). Items leave the queue in sequence order (seq is global across
 * topics), so the id of the last item a client received is a resume point for
 * every source of its stream at once.
 */

/** How a transport frames what a stream delivers. */
export interface Framing<E> {
  /** One delivered item: the event (id, topic, kind) and its data as its source maps it. */
  event(event: TopicEvent, data: unknown): E;
  /** The error the stream ends with when its caller's token expires. */
  expired(): unknown;
  /** The error the stream ends with when its caller's token is revoked (logout, a password change). */
  revoked(why: string): unknown;
}

export interface StreamOptions<E> {
  subscriber: PubSubscriber;
  framing: Framing<E>;
  signal?: AbortSignal | undefined;
  /** Items kept while the client is not reading; beyond it the oldest are dropped (and counted). */
  queueSize: number;
  metrics: Metrics;
  connection?: ConnectionHandle | null | undefined;
  /** Above this many buffered bytes the stream waits (and its queue starts dropping). */
  maxBufferedBytes: number;
  /** The caller's token expiry (ms since epoch): the stream ends with framing.expired() then. */
  expiresAt?: number | undefined;
  /**
   * Watches the caller's token for revocation (logout, a password change): called once
   * with the listener, it returns the way to stop watching. The stream ends with
   * framing.revoked() when the listener is called, as it does at expiry.
   */
  revocation?: ((onRevoked: (why: string) => void) => () => void) | undefined;
  /**
   * End the stream once every source has ended (a tRPC subscription: one source).
   * Otherwise it stays open for sources added later (a socket.io connection).
   */
  endWithSources?: boolean;
}

/** What one source of a stream follows. */
export interface SourceSpec {
  kind: TopicKind;
  topics: readonly string[];
  /** Replays what the ring buffers hold after this id (a resume); otherwise live events only. */
  lastEventId?: string | null | undefined;
  /** Per-event scope (authorization's eventScope): events whose data it refuses are not queued. */
  accept?: ((data: unknown) => boolean) | undefined;
  /** Turns an event's data into what is delivered. */
  map?: ((data: unknown) => unknown) | undefined;
  /** The source ends after delivering an event for which this returns true (an execution that finished). */
  isLast?: ((event: TopicEvent) => boolean) | undefined;
  /**
   * Keep only the newest queued event of each topic (market ticks: a subscriber
   * that fell behind gets the latest price of each symbol, never an older one after
   * a newer one). Off for events that must all arrive (account, algorithm, execution).
   */
  conflate?: boolean | undefined;
}

/** One source of a stream. */
export interface Source {
  readonly kind: TopicKind;
  /** The sequence this source started from: events after it are its own. */
  readonly startSeq: number;
  /**
   * Queues an item that did not come from a topic (an object's current state), in
   * sequence order at `seq`; with `last`, the source ends once it is delivered.
   */
  insert(topic: string, seq: number, data: unknown, last?: boolean): void;
  /** Stops listening; items of this source still queued are dropped. */
  stop(): void;
  readonly ended: boolean;
}

export interface Stream<E> {
  /** The items, for one consumer (tRPC's loop, a socket.io connection's pump). */
  readonly events: AsyncIterableIterator<E>;
  /**
   * The other way to consume (use one or the other): hands every item to `write` as
   * it becomes deliverable, synchronously, in order, holding back while the
   * socket is over its limit. Settles when the stream ends: resolves once it is
   * closed or its sources have ended, rejects with what an expired or revoked
   * token ends it with.
   */
  pump(write: (item: E) => void): Promise<void>;
  /** Starts a source: listening begins at once (a snapshot fetched afterwards cannot miss an event). */
  follow(spec: SourceSpec): Source;
  /** Ends the stream: every source stops, a pending next() resolves done. */
  close(): void;
  readonly closed: boolean;
}

/** An item queued by insert(): data already as delivered, maybe the source's last. */
interface InsertedItem extends TopicEvent {
  readonly inserted: true;
  readonly last: boolean;
}

interface SourceState extends Source {
  readonly spec: SourceSpec;
  ended: boolean;
  /** Stops listening on the SUB socket. */
  release(): void;
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });
/** How often a stream held back by a full socket buffer looks again. */
const BACKPRESSURE_POLL_MS = 50;

/**
 * Increments `counter{kind}`, its labelled children resolved once per kind: a drop
 * (or conflation) storm must not hash labels per event.
 */
function counterByKind(counter: { labels(labels: { kind: string }): { inc(): void } }): (kind: string) => void {
  const byKind = new Map<string, { inc(): void }>();
  return (kind) => {
    let child = byKind.get(kind);
    if (!child) {
      child = counter.labels({ kind });
      byKind.set(kind, child);
    }
    child.inc();
  };
}

/*
 * Delivery is deferred to the end of the current turn of the event loop, for
 * every stream at once: the SUB socket's burst of events is queued (and
 * conflated) first, then each waiting consumer takes its whole backlog in one
 * go, which the ws adapter writes with one syscall (http/batched-writes.ts).
 */
let dueStreams: Array<() => void> = [];
function deliverAtEndOfTurn(deliver: () => void): void {
  if (dueStreams.push(deliver) === 1) setImmediate(deliverDue);
}
function deliverDue(): void {
  const due = dueStreams;
  dueStreams = [];
  for (const deliver of due) deliver();
}

/**
 * Opens a stream. Memory per subscriber is bounded: the queue drops its oldest
 * items when the client falls behind, and the stream stops handing items out
 * while the socket's send buffer is over the limit. close() (or the signal) ends it.
 *
 * Why a hand-written iterator and not an async generator: this runs once per
 * event per subscriber (20,000 times a second for 1,000 desk clients). A
 * generator behind `yield*` layers costs several promise hops per event; here
 * an event is one array write plus, when the consumer is already waiting, one
 * resolve; when it is not, next() answers from the queue with a resolved promise.
 */
export function openStream<E>(o: StreamOptions<E>): Stream<E> {
  // Two parallel rings (item, its source): O(1) push and take, dropping the oldest
  // of a full queue is one index move, and queueing a shared event allocates nothing.
  const capacity = Math.max(1, o.queueSize);
  let items: Array<TopicEvent | undefined> = new Array(Math.min(capacity, 16));
  let owners: Array<SourceState | undefined> = new Array(items.length);
  let head = 0;
  let size = 0;
  let closed = false;
  /** Set when the token expired or was revoked: what the stream ends with. */
  let endedBy: { error: unknown } | undefined;
  let finished = false;
  let liveSources = 0;
  const sources = new Set<SourceState>();
  /** The pending next() of the consumer, when the queue was empty. */
  let waiting: { resolve: (r: IteratorResult<E>) => void; reject: (e: unknown) => void } | undefined;
  /** The consumer given to pump(), and how its promise settles. */
  let pumping: { write: (item: E) => void; resolve: () => void; reject: (e: unknown) => void } | undefined;
  let backpressureTimer: NodeJS.Timeout | undefined;

  const countDrop = counterByKind(o.metrics.pubsubDropped);
  const countConflated = counterByKind(o.metrics.pubsubConflated);
  /** A delivery is scheduled for the end of this turn (deliverAtEndOfTurn). */
  let deliveryDue = false;
  const deliverDueItems = () => {
    deliveryDue = false;
    deliver();
  };

  const at = (offset: number) => (head + offset) % items.length;
  const take = (): [TopicEvent, SourceState] => {
    const item = items[head]!;
    const owner = owners[head]!;
    items[head] = undefined;
    owners[head] = undefined;
    head = (head + 1) % items.length;
    size--;
    return [item, owner];
  };
  const grow = () => {
    const length = Math.min(capacity, items.length * 2);
    const nextItems = new Array<TopicEvent | undefined>(length);
    const nextOwners = new Array<SourceState | undefined>(length);
    for (let i = 0; i < size; i++) {
      nextItems[i] = items[at(i)];
      nextOwners[i] = owners[at(i)];
    }
    items = nextItems;
    owners = nextOwners;
    head = 0;
  };
  /** Room for one more: grows up to the capacity, then drops the oldest (counted). */
  const makeRoom = () => {
    if (size < items.length) return;
    if (size < capacity) {
      grow();
      return;
    }
    const [oldest, owner] = take();
    if (!owner.ended) countDrop(oldest.kind);
  };
  /**
   * Removes the queued event of `item`'s topic and source, if any, closing the gap
   * (the queue stays in sequence order): the newer event replaces it at the tail.
   */
  const conflated = (item: TopicEvent, owner: SourceState): boolean => {
    for (let offset = size - 1; offset >= 0; offset--) {
      const queued = items[at(offset)]!;
      if (queued.topic !== item.topic || owners[at(offset)] !== owner) continue;
      if (queued.seq > item.seq) return false;
      for (let i = offset; i < size - 1; i++) {
        items[at(i)] = items[at(i + 1)];
        owners[at(i)] = owners[at(i + 1)];
      }
      items[at(size - 1)] = undefined;
      owners[at(size - 1)] = undefined;
      size--;
      countConflated(item.kind);
      return true;
    }
    return false;
  };
  /** Queues in sequence order: live events arrive in order; a replay or a snapshot may need a place further back. */
  const enqueue = (item: TopicEvent, owner: SourceState, conflate = false) => {
    if (conflate && size > 0) conflated(item, owner);
    makeRoom();
    let position = size;
    while (position > 0 && items[at(position - 1)]!.seq > item.seq) {
      items[at(position)] = items[at(position - 1)];
      owners[at(position)] = owners[at(position - 1)];
      position--;
    }
    items[at(position)] = item;
    owners[at(position)] = owner;
    size++;
    if ((waiting || pumping) && !deliveryDue) {
      deliveryDue = true;
      deliverAtEndOfTurn(deliverDueItems);
    }
  };

  const endSource = (source: SourceState) => {
    if (source.ended) return;
    source.ended = true;
    liveSources--;
    sources.delete(source);
    source.release();
    o.metrics.subscriptions.dec({ kind: source.kind });
    if (o.endWithSources && liveSources === 0) finished = true;
  };

  /** The next deliverable item, framed; undefined when none is queued (items of ended sources are skipped). */
  const nextItem = (): IteratorResult<E> | undefined => {
    while (size > 0) {
      const [item, owner] = take();
      if (owner.ended) continue;
      const inserted = (item as Partial<InsertedItem>).inserted === true;
      const spec = owner.spec;
      const data = inserted || !spec.map ? item.data : spec.map(item.data);
      if (inserted ? (item as InsertedItem).last : spec.isLast?.(item)) endSource(owner);
      return { done: false, value: o.framing.event(item, data) };
    }
    return undefined;
  };
  const overLimit = () => o.connection != null && o.connection.bufferedAmount() > o.maxBufferedBytes;
  const ended = () => closed || finished || o.signal?.aborted === true;

  const holdBack = () => {
    backpressureTimer = setTimeout(() => {
      backpressureTimer = undefined;
      deliver();
    }, BACKPRESSURE_POLL_MS);
  };
  /** pump(): everything deliverable, until the socket is over its limit (then again once it drains). */
  const pumpAll = (consumer: NonNullable<typeof pumping>) => {
    while (size > 0 && pumping === consumer && !endedBy && !closed) {
      if (overLimit()) return holdBack();
      const result = nextItem();
      if (result) consumer.write(result.value);
    }
    if (finished && pumping === consumer) close();
  };
  /** Hands the oldest queued item to a waiting next(), unless the socket is backed up. */
  const deliver = () => {
    if (size === 0 || backpressureTimer) return;
    if (pumping) return pumpAll(pumping);
    if (!waiting) return;
    if (overLimit()) return holdBack();
    const w = waiting;
    waiting = undefined;
    const result = nextItem();
    if (result) w.resolve(result);
    else {
      waiting = w;
      if (finished) settleWaiting();
    }
  };
  /** Ends a pending next() or the pump: done, or the expiry error. */
  const settleWaiting = () => {
    const consumer = pumping;
    if (consumer) {
      pumping = undefined;
      if (endedBy && !closed) {
        const { error } = endedBy;
        close();
        consumer.reject(error);
      } else {
        close();
        consumer.resolve();
      }
    }
    const w = waiting;
    if (!w) return;
    waiting = undefined;
    if (endedBy && !closed) w.reject(endedBy.error);
    else w.resolve(DONE);
  };

  function follow(spec: SourceSpec): Source {
    if (closed) throw new Error("stream: follow() after close()");
    const since = seqOfEventId(spec.lastEventId);
    let release = () => {};
    const source: SourceState = {
      kind: spec.kind,
      spec,
      startSeq: since ?? o.subscriber.currentSeq,
      ended: false,
      insert(topic, seq, data, last = false) {
        if (source.ended) return;
        const item: InsertedItem = {
          id: eventIdOf(topic, seq),
          seq,
          topic,
          kind: spec.kind,
          data,
          inserted: true,
          last,
        };
        enqueue(item, source);
      },
      stop() {
        endSource(source);
        if (finished) settleWaiting();
      },
      release: () => release(),
    };
    // A resume replays every event after lastEventId as asked; live ticks conflate.
    const conflate = spec.conflate === true;
    const push = (event: TopicEvent, live = true) => {
      if (source.ended || (spec.accept && !spec.accept(event.data))) return;
      enqueue(event, source, live && conflate);
    };
    sources.add(source);
    liveSources++;
    o.metrics.subscriptions.inc({ kind: spec.kind });
    const listening = o.subscriber.listen(spec.topics, push, since);
    release = listening.close;
    for (const event of listening.replay) push(event, false);
    return source;
  }

  const close = () => {
    if (closed) return;
    closed = true;
    if (expiryTimer) clearTimeout(expiryTimer);
    stopWatching?.();
    if (backpressureTimer) clearTimeout(backpressureTimer);
    backpressureTimer = undefined;
    o.signal?.removeEventListener("abort", close);
    for (const source of [...sources]) endSource(source);
    items = [];
    owners = [];
    head = 0;
    size = 0;
    settleWaiting();
  };
  o.signal?.addEventListener("abort", close);
  // A stream outlives the check of the token that opened it: end it when the token
  // expires or is revoked.
  const endWith = (error: unknown) => {
    if (endedBy || closed) return;
    endedBy = { error };
    if (backpressureTimer) clearTimeout(backpressureTimer);
    backpressureTimer = undefined;
    settleWaiting();
  };
  const expiryTimer =
    o.expiresAt !== undefined
      ? setTimeout(() => endWith(o.framing.expired()), Math.max(0, Math.min(o.expiresAt - Date.now(), 2 ** 31 - 1)))
      : undefined;
  const stopWatching = o.revocation?.((why) => endWith(o.framing.revoked(why)));
  if (o.signal?.aborted) close();

  const events: AsyncIterableIterator<E> = {
    next(): Promise<IteratorResult<E>> {
      if (endedBy && !closed) {
        const { error } = endedBy;
        close();
        return Promise.reject(error);
      }
      if (ended()) {
        close();
        return Promise.resolve(DONE);
      }
      if (waiting) return Promise.reject(new Error("stream: next() called while a previous next() is pending"));
      if (size > 0 && !backpressureTimer && !overLimit()) {
        const result = nextItem();
        if (result) return Promise.resolve(result);
        if (finished) {
          close();
          return Promise.resolve(DONE);
        }
      }
      return new Promise((resolve, reject) => {
        waiting = { resolve, reject };
        deliver();
      });
    },
    return(): Promise<IteratorResult<E>> {
      close();
      return Promise.resolve(DONE);
    },
    throw(err?: unknown): Promise<IteratorResult<E>> {
      close();
      return Promise.reject(err);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };

  const pump = (write: (item: E) => void): Promise<void> => {
    if (waiting || pumping) return Promise.reject(new Error("stream: pump() while another consumer is reading"));
    return new Promise<void>((resolve, reject) => {
      pumping = { write, resolve, reject };
      if (endedBy || ended()) settleWaiting();
      else deliver();
    });
  };

  return {
    events,
    pump,
    follow,
    close,
    get closed() {
      return closed;
    },
  };
}

/**
 * What a framework that insists on iterating (tRPC's ws adapter) is given for a stream
 * that writes its own frames: one next(), which runs pump(write) and settles when the
 * stream ends (done, or the expired/revoked error for the framework to send). next() is
 * first called after the framework's own "started", so the first frame follows it.
 */
export function pumpedEvents<E>(stream: Stream<E>, write: (item: E) => void): AsyncIterableIterator<never> {
  let started = false;
  return {
    next: () => {
      if (started) return Promise.resolve(DONE);
      started = true;
      return stream.pump(write).then(() => DONE);
    },
    return: () => {
      stream.close();
      return Promise.resolve(DONE);
    },
    throw: (err?: unknown) => {
      stream.close();
      return Promise.reject(err);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/**
 * A source that begins with the current state of one object (an execution):
 * listening starts first and the snapshot is taken after, so nothing published
 * in between is lost. The snapshot is queued unless the client resumes from an id
 * this process can replay from (then the buffered events follow that id); the
 * source ends with it when `snapshotIsLast` says the object is finished.
 *
 * `initial`, a state the caller already has (an execution just started), is
 * queued first; the snapshot still follows, since events published before
 * listening began are not in the stream. Without `initial`, a snapshot that fails
 * (the object is not the caller's) stops the source and throws; with it, the
 * source keeps the initial state and its live events.
 */
export async function followWithSnapshot<T>(
  stream: Pick<Stream<unknown>, "follow">,
  o: Omit<SourceSpec, "topics"> & {
    topic: string;
    initial?: T | undefined;
    snapshot: () => Promise<T>;
    snapshotIsLast: (snapshot: T) => boolean;
  },
  subscriber: Pick<PubSubscriber, "currentSeq">,
): Promise<Source> {
  const snapshotSeq = subscriber.currentSeq;
  // An id from an earlier gateway process (sequence ahead of ours) cannot be replayed: send the state instead.
  const since = seqOfEventId(o.lastEventId);
  const replayable = since !== undefined && since <= snapshotSeq;
  const source = stream.follow({
    kind: o.kind,
    accept: o.accept,
    map: o.map,
    isLast: o.isLast,
    topics: [o.topic],
    // Nothing from before the snapshot is replayed unless the client asked for it.
    lastEventId: replayable ? o.lastEventId : eventIdOf(o.topic, snapshotSeq),
  });
  if (o.initial !== undefined) {
    const last = o.snapshotIsLast(o.initial);
    source.insert(o.topic, snapshotSeq, o.initial, last);
    if (last) return source;
  }
  try {
    const snapshot = await o.snapshot();
    if (!replayable) source.insert(o.topic, snapshotSeq, snapshot, o.snapshotIsLast(snapshot));
  } catch (err) {
    if (o.initial !== undefined) return source;
    source.stop();
    throw err;
  }
  return source;
}

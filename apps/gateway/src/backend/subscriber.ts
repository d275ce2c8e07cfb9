import { type TopicKind, parseTopic, topics } from "@desk/contracts";
import { type CurveClientKeys, watchCurveHandshakes } from "@desk/mdp";
import { Subscriber } from "zeromq";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import { eventIdOf, nextSeq } from "./event-id.js";
import type { Codec } from "./types.js";
import { shareEventData } from "../shared-events.js";

/** One event as the gateway hands it to subscriptions (`id`: see event-id.ts). */
export interface TopicEvent {
  id: string;
  seq: number;
  topic: string;
  kind: TopicKind;
  data: unknown;
}

export type SubState = "connecting" | "connected" | "disconnected" | "closed";

interface TopicEntry {
  listeners: Set<(event: TopicEvent) => void>;
  /** Ring buffer of recent events, oldest first (bounded by replayBufferSize). */
  recent: TopicEvent[];
  lingerTimer: NodeJS.Timeout | undefined;
  /** The index in the turn's batch of this topic's newest coalesced event, while that batch waits. */
  pendingIndex: number | undefined;
}

/** An event received this turn, handed out at its end (PubSubscriber.handOutBatch). */
interface BatchedEvent {
  topic: string;
  entry: TopicEntry;
  kind: TopicKind;
  data: unknown;
  /** A newer event of its topic came in the same batch: kept for replay, not handed out. */
  superseded: boolean;
}

/**
 * Events are handed to listeners at the end of the turn of the event loop that
 * received them, in the order received (the streams deliver at the end of a turn
 * anyway, stream.ts). For these kinds, an event followed in the same batch by a
 * newer one of its topic is not handed out at all: market ticks, which every
 * subscriber conflates (only the latest price matters). Under a burst (a backlog
 * on the SUB socket after a busy turn, a firehose symbol) that is one hand-out
 * per symbol per turn, not one per tick for each of its subscribers. Every event
 * is still numbered and kept for replay, so a resume gets all it missed.
 */
const COALESCED_KINDS: ReadonlySet<TopicKind> = new Set<TopicKind>(["market"]);

/**
 * vn.py's PUB sends one frame, pickle([topic, data]); a pickle of protocol 2+
 * starts with the PROTO opcode 0x80, which no topic name does. Subscribing to
 * that one byte admits those messages (filtered after decoding) without
 * admitting every two-frame topic, so per-topic ZeroMQ filtering still works
 * for our own publisher.
 */
const PICKLE_PREFIX = Buffer.from([0x80]);

/**
 * The gateway's single SUB socket. Topics are subscribed on the socket while at
 * least one listener wants them (ref-counted), plus a short linger so a client
 * that reconnects finds the events it missed in the topic's ring buffer.
 *
 * Sequence numbers are global across topics, so one lastEventId positions a
 * subscription that spans several topics (accountIds: [a, b]).
 */
export class PubSubscriber {
  private readonly socket: Subscriber;
  private readonly entries = new Map<string, TopicEntry>();
  /** watchPrefix's listeners, by topic prefix. */
  private readonly prefixWatchers = new Map<string, Set<(topic: string, data: unknown) => void>>();
  private seq = 0;
  private stateValue: SubState = "connecting";
  private lastMessageAt: number | undefined;
  private lastHeartbeatAt: number | undefined;
  private received = 0;
  private rejected = 0;
  private handshakeFailures = 0;
  private loop: Promise<void> | undefined;
  /** The events received this turn, in order, waiting for its end. */
  private batch: BatchedEvent[] = [];

  constructor(
    private readonly o: {
      url: string;
      codec: Codec;
      logger: Logger;
      metrics: Metrics;
      replayBufferSize: number;
      lingerMs: number;
      /** CURVE: the gateway's pair and the publisher's public key, pinned: another publisher's events never arrive. */
      curve?: CurveClientKeys;
    },
  ) {
    const curve = o.curve;
    this.socket = new Subscriber({
      linger: 0,
      ...(curve === undefined
        ? {}
        : { curveServerKey: curve.serverKey, curvePublicKey: curve.publicKey, curveSecretKey: curve.secretKey }),
    });
    if (curve !== undefined) {
      watchCurveHandshakes(this.socket, o.url, o.logger, "pub/sub", () => {
        this.handshakeFailures++;
      });
    }
  }

  start(): void {
    // Under CURVE a TCP connection is not yet the publisher: only a completed handshake is.
    if (this.o.curve === undefined) this.socket.events.on("connect", () => this.setState("connected"));
    this.socket.events.on("handshake", () => this.setState("connected"));
    this.socket.events.on("disconnect", () => this.setState("disconnected"));
    this.socket.events.on("connect:retry", () => {
      if (this.stateValue !== "connected") this.setState("disconnected");
    });
    this.socket.connect(this.o.url);
    this.socket.subscribe(PICKLE_PREFIX);
    this.loop = this.receiveLoop();
  }

  /**
   * Registers `listener` for `topicList` and returns, atomically with the
   * registration, the buffered events newer than `sinceSeq` (oldest first).
   */
  listen(
    topicList: readonly string[],
    listener: (event: TopicEvent) => void,
    sinceSeq?: number,
  ): { replay: TopicEvent[]; close: () => void } {
    // A new listener starts after every event received so far (those are handed out
    // to the listeners before it, and replayed to it only if it asks: sinceSeq).
    this.handOutBatch();
    const unique = [...new Set(topicList)];
    const replay: TopicEvent[] = [];
    for (const topic of unique) {
      let entry = this.entries.get(topic);
      if (!entry) {
        entry = { listeners: new Set(), recent: [], lingerTimer: undefined, pendingIndex: undefined };
        this.entries.set(topic, entry);
        this.socket.subscribe(topic);
      }
      if (entry.lingerTimer) {
        clearTimeout(entry.lingerTimer);
        entry.lingerTimer = undefined;
      }
      entry.listeners.add(listener);
      // A sequence beyond ours comes from an earlier gateway process: nothing to replay.
      if (sinceSeq !== undefined && sinceSeq <= this.seq) {
        for (const event of entry.recent) if (event.seq > sinceSeq) replay.push(event);
      }
    }
    replay.sort((a, b) => a.seq - b.seq);
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      for (const topic of unique) this.release(topic, listener);
    };
    return { replay, close };
  }

  /**
   * Every valid event whose topic starts with `prefix` ("execution."), for the gateway's own
   * use (learning what became of a write whose outcome was unknown): no ring buffer, no
   * sequence number, nothing a client sees. The prefix is subscribed on the socket while
   * watched. Returns the unwatch.
   */
  watchPrefix(prefix: string, listener: (topic: string, data: unknown) => void): () => void {
    let watchers = this.prefixWatchers.get(prefix);
    if (!watchers) {
      watchers = new Set();
      this.prefixWatchers.set(prefix, watchers);
      this.socket.subscribe(prefix);
    }
    watchers.add(listener);
    return () => {
      const current = this.prefixWatchers.get(prefix);
      if (!current?.delete(listener) || current.size > 0) return;
      this.prefixWatchers.delete(prefix);
      if (!this.socket.closed) this.socket.unsubscribe(prefix);
    };
  }

  /** The newest sequence number handed out; an id built from it positions a snapshot in the stream. */
  get currentSeq(): number {
    // What was received and not yet handed out goes first, so the figure covers every
    // event received so far, as it did when events were handed out on receipt: a snapshot
    // taken after reading it cannot be followed by an event older than itself.
    this.handOutBatch();
    return this.seq;
  }

  status() {
    return {
      url: this.o.url,
      state: this.stateValue,
      topics: this.entries.size,
      received: this.received,
      rejected: this.rejected,
      curve: this.o.curve !== undefined,
      handshakeFailures: this.handshakeFailures,
      lastMessageAt: this.lastMessageAt ? new Date(this.lastMessageAt).toISOString() : null,
      lastVnpyHeartbeatAt: this.lastHeartbeatAt ? new Date(this.lastHeartbeatAt).toISOString() : null,
    };
  }

  async close(): Promise<void> {
    this.setState("closed");
    for (const entry of this.entries.values()) if (entry.lingerTimer) clearTimeout(entry.lingerTimer);
    this.entries.clear();
    this.prefixWatchers.clear();
    this.socket.close();
    await this.loop?.catch(() => undefined);
  }

  private setState(state: SubState): void {
    if (this.stateValue === "closed" || this.stateValue === state) return;
    this.o.logger.info({ url: this.o.url, state }, "pub/sub socket state");
    this.stateValue = state;
  }

  private release(topic: string, listener: (event: TopicEvent) => void): void {
    const entry = this.entries.get(topic);
    if (!entry) return;
    entry.listeners.delete(listener);
    if (entry.listeners.size > 0 || entry.lingerTimer) return;
    const drop = () => {
      const current = this.entries.get(topic);
      if (current !== entry || entry.listeners.size > 0) return;
      this.entries.delete(topic);
      if (!this.socket.closed) this.socket.unsubscribe(topic);
    };
    if (this.o.lingerMs <= 0) {
      drop();
      return;
    }
    entry.lingerTimer = setTimeout(drop, this.o.lingerMs);
    entry.lingerTimer.unref();
  }

  private async receiveLoop(): Promise<void> {
    try {
      for await (const frames of this.socket) {
        try {
          await this.handle(frames);
        } catch (err) {
          this.rejected++;
          this.o.logger.warn({ err: String(err) }, "dropped an unreadable pub/sub message");
        }
      }
    } catch (err) {
      if (this.stateValue !== "closed") this.o.logger.error({ err: String(err) }, "pub/sub receive loop ended");
    }
  }

  private async handle(frames: Buffer[]): Promise<void> {
    this.lastMessageAt = Date.now();
    this.received++;
    let topic: string;
    let data: unknown;
    if (frames.length >= 2) {
      topic = frames[0]!.toString("utf8");
      // Topics nobody here wants (a prefix match of a longer name) are skipped before decoding.
      if (!this.wanted(topic)) return;
      data = await this.o.codec.decode(frames[1]!);
    } else {
      const decoded = await this.o.codec.decode(frames[0]!);
      if (!Array.isArray(decoded) || decoded.length !== 2 || typeof decoded[0] !== "string") {
        this.reject("unknown", "one-frame message is not pickle([topic, data])");
        return;
      }
      topic = decoded[0];
      data = decoded[1];
      if (topic === "heartbeat") {
        this.lastHeartbeatAt = Date.now();
        this.o.metrics.pubsubEvents.inc({ kind: "heartbeat", result: "heartbeat" });
        return;
      }
      if (!this.wanted(topic)) return;
    }
    const parsed = parseTopic(topic);
    if (!parsed) {
      this.reject("unknown", `unknown topic ${topic}`);
      return;
    }
    const checked = topics[parsed.kind].event.safeParse(data);
    if (!checked.success) {
      const first = checked.error.issues[0];
      this.reject(parsed.kind, `${topic}: ${first ? `${first.path.join(".")}: ${first.message}` : "invalid event"}`);
      return;
    }
    for (const [prefix, watchers] of this.prefixWatchers)
      if (topic.startsWith(prefix)) for (const watcher of watchers) watcher(topic, checked.data);
    const entry = this.entries.get(topic);
    if (!entry) return;
    if (COALESCED_KINDS.has(parsed.kind)) {
      const previous = entry.pendingIndex === undefined ? undefined : this.batch[entry.pendingIndex];
      if (previous) previous.superseded = true;
      entry.pendingIndex = this.batch.length;
    }
    if (this.batch.push({ topic, entry, kind: parsed.kind, data: checked.data, superseded: false }) === 1)
      setImmediate(() => this.handOutBatch());
  }

  /**
   * This turn's events, numbered in the order received: each is kept for replay and,
   * unless superseded, handed to its topic's listeners. Numbered here, not on
   * receipt, so that the ring buffers and currentSeq only ever hold what listeners
   * have been handed (a listener added in between gets nothing twice). listen() and
   * currentSeq hand out what is pending first; the end of the turn does the rest.
   */
  private handOutBatch(): void {
    if (this.batch.length === 0) return;
    const batch = this.batch;
    this.batch = [];
    for (const item of batch) item.entry.pendingIndex = undefined;
    for (const { topic, entry, kind, data, superseded } of batch) {
      // A topic nobody follows any more (released and dropped meanwhile) is not numbered.
      if (this.entries.get(topic) !== entry) continue;
      const seq = nextSeq();
      this.seq = seq;
      // One decoded object for every subscriber: serialized once (shared-events.ts), never mutated.
      shareEventData(data);
      const event: TopicEvent = { id: eventIdOf(topic, seq), seq, topic, kind, data };
      entry.recent.push(event);
      if (entry.recent.length > this.o.replayBufferSize) entry.recent.shift();
      this.o.metrics.pubsubEvents.inc({ kind, result: superseded ? "superseded" : "delivered" });
      if (!superseded) for (const listener of entry.listeners) listener(event);
    }
  }

  private wanted(topic: string): boolean {
    if (this.entries.has(topic)) return true;
    for (const prefix of this.prefixWatchers.keys()) if (topic.startsWith(prefix)) return true;
    return false;
  }

  private reject(kind: string, why: string): void {
    this.rejected++;
    this.o.metrics.pubsubEvents.inc({ kind, result: "invalid" });
    // Invalid events usually come in floods (a schema drift): log at debug after the first few.
    if (this.rejected <= 10) this.o.logger.warn({ why }, "rejected a pub/sub event");
    else this.o.logger.debug({ why }, "rejected a pub/sub event");
  }
}

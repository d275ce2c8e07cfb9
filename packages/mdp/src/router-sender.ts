import type { Router } from "zeromq";
import { Fifo } from "./fifo.js";
import type { Frames } from "./socket-writer.js";

/**
 * What a message is, so that a failed send can be undone by the one who knows:
 * a reply to a client, a REQUEST handed to a worker, or a worker command.
 */
export const Outbound = { CLIENT: 0, DISPATCH: 1, WORKER: 2 } as const;
export type Outbound = (typeof Outbound)[keyof typeof Outbound];

export interface OutboundMessage<R> {
  readonly frames: Frames;
  readonly kind: Outbound;
  /** The broker's own record behind the message (the job, the worker). */
  readonly ref: R;
}

export interface RouterSenderEvents<R> {
  /** The peer is gone (EHOSTUNREACH): nothing of this message left the broker. */
  unroutable(message: OutboundMessage<R>): void;
  /** The peer's backlog is full: the message is dropped here. */
  overflow(message: OutboundMessage<R>): void;
  /** A send failed for another reason (the socket closing, a bug). */
  failed(message: OutboundMessage<R>, err: unknown): void;
}

function errorCode(err: unknown): unknown {
  return typeof err === "object" && err !== null ? (err as { code?: unknown }).code : undefined;
}

const RETRY_MIN_MS = 1;
const RETRY_MAX_MS = 20;

/**
 * Sends on a ROUTER with ZMQ_ROUTER_MANDATORY and sendTimeout 0, so no message is
 * dropped silently: libzmq answers EAGAIN for a peer whose pipe is full and
 * EHOSTUNREACH for a peer that is gone, where a plain ROUTER discards both.
 *
 * With sendTimeout 0 zeromq.js sends synchronously and returns a promise that is
 * already settled, so the reactions run in the order the sends were made: a FIFO of
 * what was sent tells each reaction which message it is about, without a closure
 * per message. Messages for a full peer wait in that peer's backlog (bounded) and
 * are retried on a short timer; later messages for it queue behind them.
 */
export class RouterSender<R> {
  private readonly sent = new Fifo<OutboundMessage<R>>();
  private readonly backlogs = new Map<string, Fifo<OutboundMessage<R>>>();
  /** Peers whose backlog head is being sent right now (its reaction decides what next). */
  private readonly pumping = new Set<string>();
  private backlogged = 0;
  private deferredTotal = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelay = RETRY_MIN_MS;

  constructor(
    private readonly socket: Router,
    private readonly maxPeerBacklog: number,
    private readonly maxBacklog: number,
    private readonly events: RouterSenderEvents<R>,
  ) {
    // The FIFO of reactions below is only right when every send settles at once.
    if (socket.sendTimeout !== 0) throw new TypeError("RouterSender needs a ROUTER with sendTimeout 0");
  }

  /** Messages waiting for peers whose pipe was full. */
  get waiting(): number {
    return this.backlogged;
  }

  /** Messages that ever had to wait for a full peer (since start). */
  get deferred(): number {
    return this.deferredTotal;
  }

  send(frames: Frames, kind: Outbound, ref: R): void {
    const message: OutboundMessage<R> = { frames, kind, ref };
    if (this.backlogs.size > 0) {
      const key = peerKey(frames);
      const backlog = this.backlogs.get(key);
      if (backlog !== undefined) {
        this.park(key, backlog, message);
        return;
      }
    }
    this.transmit(message);
  }

  /**
   * Forgets what waits for one peer (a worker the broker just removed) and returns
   * it: none of it reached the peer.
   */
  discard(identity: Buffer): Array<OutboundMessage<R>> {
    if (this.backlogs.size === 0) return [];
    const key = identity.toString("latin1");
    const backlog = this.backlogs.get(key);
    if (backlog === undefined) return [];
    this.backlogs.delete(key);
    const rest = backlog.drain();
    this.backlogged -= rest.length;
    return rest;
  }

  /** Drops everything still waiting (the socket is closing). */
  clear(): void {
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.backlogs.clear();
    this.pumping.clear();
    this.backlogged = 0;
  }

  private transmit(message: OutboundMessage<R>): void {
    if (this.socket.closed) return;
    let outcome: Promise<void>;
    try {
      outcome = this.socket.send(message.frames);
    } catch (err) {
      // Only a socket closing under us throws here (EBUSY needs a send that waits).
      this.events.failed(message, err);
      return;
    }
    this.sent.push(message);
    outcome.then(this.onSent, this.onFailed);
  }

  private readonly onSent = (): void => {
    const message = this.sent.shift() as OutboundMessage<R>;
    if (this.pumping.size > 0) this.continuePump(message);
  };

  private readonly onFailed = (err: unknown): void => {
    const message = this.sent.shift() as OutboundMessage<R>;
    const key = this.pumping.size > 0 ? peerKey(message.frames) : undefined;
    const fromBacklog = key !== undefined && this.pumping.has(key) && this.backlogs.get(key)?.peek() === message;
    if (fromBacklog) this.pumping.delete(key);
    switch (errorCode(err)) {
      case "EAGAIN":
        // Still full. A backlog head stays where it is; a fresh message joins the backlog.
        if (!fromBacklog) this.park(peerKey(message.frames), undefined, message);
        this.scheduleRetry();
        return;
      case "EHOSTUNREACH": {
        const all = fromBacklog ? this.discard(message.frames[0] as Buffer) : [message];
        for (const m of all) this.events.unroutable(m);
        return;
      }
      default:
        if (this.socket.closed) return;
        if (fromBacklog) {
          this.backlogs.get(key as string)?.shift();
          this.backlogged--;
        }
        this.events.failed(message, err);
    }
  };

  private park(key: string, known: Fifo<OutboundMessage<R>> | undefined, message: OutboundMessage<R>): void {
    let backlog = known ?? this.backlogs.get(key);
    if (backlog !== undefined && backlog.length >= this.maxPeerBacklog) {
      this.events.overflow(message);
      return;
    }
    if (this.backlogged >= this.maxBacklog) {
      this.events.overflow(message);
      return;
    }
    if (backlog === undefined) {
      backlog = new Fifo<OutboundMessage<R>>();
      this.backlogs.set(key, backlog);
    }
    backlog.push(message);
    this.backlogged++;
    this.deferredTotal++;
    this.scheduleRetry();
  }

  /** A backlog head went out: send the next one of that peer at once (a microtask chain). */
  private continuePump(message: OutboundMessage<R>): void {
    const key = peerKey(message.frames);
    if (!this.pumping.has(key)) return;
    const backlog = this.backlogs.get(key);
    if (backlog?.peek() !== message) return;
    this.pumping.delete(key);
    backlog.shift();
    this.backlogged--;
    this.retryDelay = RETRY_MIN_MS;
    if (backlog.length === 0) this.backlogs.delete(key);
    else this.pump(key, backlog);
  }

  private pump(key: string, backlog: Fifo<OutboundMessage<R>>): void {
    const head = backlog.peek();
    if (head === undefined || this.pumping.has(key)) return;
    this.pumping.add(key);
    this.transmit(head);
  }

  /** Full pipes drain as the peer reads; libzmq cannot say when for one peer, so poll with backoff. */
  private scheduleRetry(): void {
    if (this.retryTimer !== undefined || this.backlogs.size === 0) return;
    const delay = this.retryDelay;
    this.retryDelay = Math.min(RETRY_MAX_MS, this.retryDelay * 2);
    this.retryTimer = setTimeout(this.retry, delay);
  }

  private readonly retry = (): void => {
    this.retryTimer = undefined;
    for (const [key, backlog] of this.backlogs) this.pump(key, backlog);
  };
}

function peerKey(frames: Frames): string {
  return (frames[0] as Buffer).toString("latin1");
}

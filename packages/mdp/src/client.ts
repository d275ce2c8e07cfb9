import { randomBytes } from "node:crypto";
import { Dealer } from "zeromq";
import { MdpError, type MdpErrorCode } from "./errors.js";
import { type MdpLogger, silentLogger } from "./logger.js";
import {
  BrokerErrorCode,
  CLIENT_FRAME,
  EMPTY_FRAME,
  ERROR_MARKER_FRAME,
  MDP_DEFAULTS,
  MMI_SERVICE,
  frameEquals,
} from "./protocol.js";
import { readLoop } from "./read-loop.js";
import { SocketWriter } from "./socket-writer.js";

export interface MdpClientOptions {
  /** Broker endpoints in failover order; a comma-separated string (ZMQ_BROKER_URL) is accepted. */
  endpoints: string | string[];
  /** Per-try timeout in ms (ZMQ_TIMEOUT). */
  timeout?: number;
  /** Number of tries (ZMQ_RETRIES). */
  retries?: number;
  /** Prefix of generated request ids; unique per process by default. */
  idPrefix?: string;
  logger?: MdpLogger;
}

export interface MdpRequestOptions {
  /** Keep the same id across calls to make a retried write idempotent (workers dedupe by it). */
  requestId?: string;
  timeout?: number;
  retries?: number;
  signal?: AbortSignal;
}

export interface MdpClientStats {
  inFlight: number;
  sent: number;
  replies: number;
  timeouts: number;
  retries: number;
  reconnects: number;
  lateReplies: number;
  brokerErrors: number;
  /** Replies that were not MDP/0.1 client frames (dropped). */
  badReplies: number;
  endpoint: string;
}

interface Pending {
  readonly id: string;
  readonly service: string;
  readonly serviceFrame: Buffer;
  readonly payload: Uint8Array;
  readonly timeout: number;
  readonly maxTries: number;
  tries: number;
  timer: NodeJS.Timeout | undefined;
  resolve: (reply: Buffer) => void;
  reject: (err: MdpError) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

interface Connection {
  readonly socket: Dealer;
  readonly writer: SocketWriter;
  readonly endpoint: string;
  readonly openedAt: number;
}

const KNOWN_BROKER_CODES: ReadonlySet<string> = new Set(Object.values(BrokerErrorCode));

function parseEndpoints(endpoints: string | string[]): string[] {
  const list = (Array.isArray(endpoints) ? endpoints : endpoints.split(","))
    .map((e) => e.trim())
    .filter((e) => e.length > 0);
  if (list.length === 0) throw new TypeError("MdpClient: at least one broker endpoint is required");
  return list;
}

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 1) {
    throw new TypeError(`MdpClient: ${name} must be a positive number, got ${String(value)}`);
  }
  return Math.floor(value);
}

/**
 * MDP/0.1 client: one DEALER to the active broker, many requests in flight
 * correlated by requestId, Lazy Pirate reconnect and failover on timeout.
 */
export class MdpClient {
  private readonly endpoints: string[];
  private readonly timeout: number;
  private readonly tries: number;
  private readonly idPrefix: string;
  private readonly logger: MdpLogger;
  private readonly pending = new Map<string, Pending>();
  private readonly serviceFrames = new Map<string, Buffer>();
  private endpointIndex = 0;
  private conn: Connection;
  private counter = 0;
  private closed = false;
  private readonly counters = {
    sent: 0,
    replies: 0,
    timeouts: 0,
    retries: 0,
    reconnects: 0,
    lateReplies: 0,
    brokerErrors: 0,
    badReplies: 0,
  };

  constructor(o: MdpClientOptions) {
    this.endpoints = parseEndpoints(o.endpoints);
    this.timeout = positiveInt("timeout", o.timeout, MDP_DEFAULTS.timeout);
    this.tries = positiveInt("retries", o.retries, MDP_DEFAULTS.retries);
    this.idPrefix = o.idPrefix ?? `${process.pid.toString(36)}${randomBytes(3).toString("hex")}`;
    this.logger = o.logger ?? silentLogger;
    this.conn = this.open(this.endpoints[0] as string);
  }

  nextRequestId(): string {
    return `${this.idPrefix}-${++this.counter}`;
  }

  request(service: string, payload: Uint8Array, o?: MdpRequestOptions): Promise<Buffer> {
    if (typeof service !== "string" || service.length === 0) {
      return Promise.reject(new TypeError("MdpClient.request: service must be a non-empty string"));
    }
    if (!(payload instanceof Uint8Array)) {
      return Promise.reject(new TypeError("MdpClient.request: payload must be a Uint8Array"));
    }
    const id = o?.requestId ?? this.nextRequestId();
    if (this.closed) return Promise.reject(new MdpError("CLOSED", "MDP client is closed", { service, requestId: id }));
    if (o?.signal?.aborted) {
      return Promise.reject(new MdpError("ABORTED", "request aborted", { service, requestId: id, tries: 0 }));
    }
    if (this.pending.has(id)) {
      return Promise.reject(new TypeError(`MdpClient.request: requestId ${id} is already in flight`));
    }
    let timeout: number;
    let maxTries: number;
    try {
      timeout = positiveInt("timeout", o?.timeout, this.timeout);
      maxTries = positiveInt("retries", o?.retries, this.tries);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<Buffer>((resolve, reject) => {
      const p: Pending = {
        id,
        service,
        serviceFrame: this.serviceFrame(service),
        payload,
        timeout,
        maxTries,
        tries: 1,
        timer: undefined,
        resolve,
        reject,
        signal: o?.signal,
        onAbort: undefined,
      };
      if (p.signal) {
        const onAbort = (): void => this.fail(p, "ABORTED", "request aborted");
        p.onAbort = onAbort;
        p.signal.addEventListener("abort", onAbort, { once: true });
      }
      this.pending.set(id, p);
      p.timer = setTimeout(this.onTimeout, timeout, p);
      this.transmit(p);
    });
  }

  /** RFC 8 service discovery: "200" if the broker has a live worker for `service`. */
  async mmi(service: string, o?: { timeout?: number; retries?: number }): Promise<"200" | "404" | "501"> {
    const reply = await this.request(MMI_SERVICE, Buffer.from(service), o);
    const code = reply.toString();
    if (code === "200" || code === "404" || code === "501") return code;
    throw new MdpError("BAD_REPLY", `mmi.service answered ${JSON.stringify(code)}`, { service: MMI_SERVICE });
  }

  stats(): MdpClientStats {
    return { inFlight: this.pending.size, ...this.counters, endpoint: this.conn.endpoint };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.shut(this.conn);
    for (const p of [...this.pending.values()]) this.fail(p, "CLOSED", "MDP client closed");
  }

  private serviceFrame(service: string): Buffer {
    let frame = this.serviceFrames.get(service);
    if (frame === undefined) {
      frame = Buffer.from(service);
      if (this.serviceFrames.size < 1024) this.serviceFrames.set(service, frame);
    }
    return frame;
  }

  private open(endpoint: string): Connection {
    // immediate: nothing is queued towards a broker that is not connected, so a
    // dead broker cannot deliver a burst of stale duplicates when it returns.
    const socket = new Dealer({ immediate: true, linger: 0 });
    socket.connect(endpoint);
    const writer = new SocketWriter(socket, (err) => this.logger.warn({ err, endpoint }, "mdp client: send failed"));
    const conn: Connection = { socket, writer, endpoint, openedAt: Date.now() };
    void readLoop(socket, this.handleReply, this.logger, "mdp client");
    return conn;
  }

  private shut(conn: Connection): void {
    conn.writer.clear();
    if (!conn.socket.closed) conn.socket.close();
  }

  private transmit(p: Pending): void {
    this.counters.sent++;
    this.conn.writer.send([EMPTY_FRAME, CLIENT_FRAME, p.serviceFrame, p.id, p.payload]);
  }

  private readonly handleReply = (msg: Buffer[]): void => this.onReply(msg);

  private onReply(msg: Buffer[]): void {
    // ["", "MDPC01", service, requestId, body...]
    const n = msg.length;
    if (n < 5 || !frameEquals(msg[1], CLIENT_FRAME)) {
      this.counters.badReplies++;
      return;
    }
    const id = (msg[3] as Buffer).toString();
    const p = this.pending.get(id);
    if (p === undefined) {
      this.counters.lateReplies++;
      return;
    }
    if (n === 5) {
      this.counters.replies++;
      this.settle(p);
      p.resolve(msg[4] as Buffer);
      return;
    }
    if (n === 7 && frameEquals(msg[4], ERROR_MARKER_FRAME)) {
      this.counters.brokerErrors++;
      this.onBrokerError(p, (msg[5] as Buffer).toString(), (msg[6] as Buffer).toString());
      return;
    }
    this.counters.badReplies++;
    this.fail(p, "BAD_REPLY", `reply to ${id} has ${n - 4} body frames, expected 1`);
  }

  private onBrokerError(p: Pending, code: string, message: string): void {
    if (code === BrokerErrorCode.WORKER_LOST && p.tries < p.maxTries) {
      // The broker told us at once that the worker died: retry now, same id,
      // so a worker that did execute it answers from its reply cache.
      p.tries++;
      this.counters.retries++;
      p.timer?.refresh();
      this.transmit(p);
      return;
    }
    const known = KNOWN_BROKER_CODES.has(code);
    this.fail(
      p,
      known ? (code as MdpErrorCode) : "BAD_REPLY",
      known ? message : `unknown broker error ${code}: ${message}`,
    );
  }

  private readonly onTimeout = (p: Pending): void => {
    if (this.pending.get(p.id) !== p) return;
    this.counters.timeouts++;
    if (p.tries >= p.maxTries) {
      this.fail(p, "TIMEOUT", `no reply from ${p.service} after ${p.tries} tries of ${p.timeout} ms`);
      return;
    }
    p.tries++;
    this.counters.retries++;
    p.timer?.refresh();
    // Lazy Pirate: only a socket that has had a full timeout to answer is
    // declared dead. Requests moved onto a fresh socket already went out on it,
    // so their own expiring try does not tear it down again (no cascade).
    // A call with a shorter deadline than the client's (a health probe) is not
    // evidence enough to fail over every request in flight.
    if (p.timeout >= this.timeout && Date.now() - this.conn.openedAt >= p.timeout) this.reconnect();
  };

  private reconnect(): void {
    this.shut(this.conn);
    this.endpointIndex = (this.endpointIndex + 1) % this.endpoints.length;
    this.conn = this.open(this.endpoints[this.endpointIndex] as string);
    this.counters.reconnects++;
    this.logger.warn(
      { endpoint: this.conn.endpoint, inFlight: this.pending.size },
      "mdp client: reconnecting after timeout",
    );
    // Everything in flight was on the dead socket: resend with the same ids,
    // without charging those requests a try.
    for (const p of this.pending.values()) this.transmit(p);
  }

  private settle(p: Pending): void {
    this.pending.delete(p.id);
    if (p.timer !== undefined) clearTimeout(p.timer);
    if (p.onAbort !== undefined) p.signal?.removeEventListener("abort", p.onAbort);
  }

  private fail(p: Pending, code: MdpErrorCode, message: string): void {
    if (this.pending.get(p.id) !== p) return;
    this.settle(p);
    p.reject(new MdpError(code, message, { service: p.service, requestId: p.id, tries: p.tries }));
  }
}

import { randomBytes } from "node:crypto";
import { Dealer } from "zeromq";
import { type CurveKeyPair, checkCurveKey } from "./curve-keys.js";
import { watchCurveHandshakes } from "./curve-watch.js";
import { MdpError, type MdpErrorCode } from "./errors.js";
import { type MdpLogger, silentLogger } from "./logger.js";
import {
  BrokerErrorCode,
  CLIENT_FRAME,
  EMPTY_FRAME,
  ERROR_MARKER_FRAME,
  MDP_DEFAULTS,
  MMI_CANCEL,
  MMI_SERVICE,
  MMI_SESSION,
  MmiCode,
  frameEquals,
} from "./protocol.js";
import { readLoop } from "./read-loop.js";
import { type SendReceipt, SendState, SocketWriter } from "./socket-writer.js";

export interface MdpClientOptions {
  /** Broker endpoints in failover order; a comma-separated string (ZMQ_BROKER_URL) is accepted. */
  endpoints: string | string[];
  /** Per-try timeout in ms (ZMQ_TIMEOUT). */
  timeout?: number;
  /** Number of tries (ZMQ_RETRIES); a request's whole budget is timeout x retries. */
  retries?: number;
  /** Prefix of generated request ids; unique per process by default. */
  idPrefix?: string;
  /**
   * Declare a session to the broker (mmi.session, our extension; conforming brokers
   * answer 501 and nothing changes). Default true.
   */
  sessions?: boolean;
  /**
   * Called with the reply of a request that already failed OUTCOME_UNKNOWN (it came
   * after the caller's deadline): how a caller learns the outcome after all.
   */
  onLateReply?: (late: { requestId: string; service: string; reply: Buffer }) => void;
  /**
   * CURVE: this client's key pair and the broker's public key it pins (one for every
   * endpoint, or one per endpoint in the same order). A broker without that key
   * cannot complete the handshake, so nothing is ever sent to it.
   */
  curve?: MdpClientCurve;
  logger?: MdpLogger;
}

export interface MdpClientCurve extends CurveKeyPair {
  serverKey: string | readonly string[];
}

export interface MdpRequestOptions {
  /** Keep the same id across calls to make a retried write idempotent (workers dedupe by it). */
  requestId?: string;
  timeout?: number;
  retries?: number;
  signal?: AbortSignal;
  /**
   * May this request be delivered to a worker more than once? true for reads, and for
   * writes to a backend that deduplicates by requestId: retried on timeout, on
   * WORKER_LOST and after a reconnect, with the same id. false (the default, for
   * writes): sent at most once; re-sent only when it certainly never left this client,
   * and a try that cannot be known to have failed ends OUTCOME_UNKNOWN.
   */
  idempotent?: boolean;
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
  /** Replies that were not MDP/0.1 client frames, or that no request could be matched to. */
  badReplies: number;
  /** Writes that ended OUTCOME_UNKNOWN. */
  outcomeUnknown: number;
  /** Writes withdrawn from the broker's queue at their deadline (mmi.cancel): certainly not executed. */
  withdrawn: number;
  endpoint: string;
  /** Does the current broker implement mmi.session and mmi.cancel? */
  brokerExtensions: "yes" | "no" | "unknown";
  /** CURVE on for the broker connections. */
  curve: boolean;
  /** CURVE handshakes with a broker that failed: it does not hold the pinned key, or refused ours. */
  handshakeFailures: number;
}

interface Pending {
  readonly id: string;
  readonly service: string;
  readonly serviceFrame: Buffer;
  readonly payload: Uint8Array;
  readonly timeout: number;
  readonly maxTries: number;
  readonly idempotent: boolean;
  /** When the caller gets its answer at the latest (start + timeout x tries). */
  readonly deadline: number;
  tries: number;
  timer: NodeJS.Timeout | undefined;
  resolve: (reply: Buffer) => void;
  reject: (err: MdpError) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  /** The connection it was last sent on. */
  conn: Connection;
  /** A write's one send, and where it stands; undefined while it waits to be sent. */
  receipt: WriteReceipt | undefined;
  /** The deadline or an abort came while the send was in zeromq's hands: how to end once it settles. */
  ending: { code: MdpErrorCode; message: string } | undefined;
  cancelTimer: NodeJS.Timeout | undefined;
}

interface Connection {
  readonly socket: Dealer;
  readonly writer: SocketWriter;
  readonly endpoint: string;
  readonly openedAt: number;
  /** The broker's answer to mmi.session: undefined until it comes. */
  extensions: boolean | undefined;
  /** Replaced by a newer connection, kept reading for answers still on their way to it. */
  retired: boolean;
  retiredAt: number;
  releaseTimer: NodeJS.Timeout | undefined;
  /** Requests last sent on this connection and not settled. */
  inFlight: number;
  /** Writes that left on this connection and wait for their answer. */
  writesAwaiting: number;
  /** Writes that left on it and ended OUTCOME_UNKNOWN: a conforming broker sends their late answer here. */
  unknownAwaiting: number;
}

interface WriteReceipt extends SendReceipt {
  readonly pending: Pending;
  readonly conn: Connection;
}

const KNOWN_BROKER_CODES: ReadonlySet<string> = new Set(Object.values(BrokerErrorCode));
/** Old connections kept open for late write answers; beyond this the oldest is closed. */
const MAX_RETIRED = 4;
/** Remembered unanswered mmi.* probes and unknown-outcome writes (for onLateReply). */
const MAX_REMEMBERED = 10_000;
/**
 * How long a replaced socket stays open for the late answer of a write that ended
 * OUTCOME_UNKNOWN on it: our broker's default busy limit, the longest a worker may take.
 */
const LATE_REPLY_WINDOW_MS = MDP_DEFAULTS.busyTimeout;

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

const noop = (): void => {};

interface CurveSocketOptions {
  curveServerKey: string;
  curvePublicKey: string;
  curveSecretKey: string;
}

function curveSocketOptions(endpoints: readonly string[], curve: MdpClientCurve | undefined): CurveSocketOptions[] {
  if (curve === undefined) return [];
  const serverKeys =
    typeof curve.serverKey === "string" ? endpoints.map(() => curve.serverKey as string) : curve.serverKey;
  if (serverKeys.length !== endpoints.length) {
    throw new TypeError(
      `MdpClient: curve.serverKey lists ${serverKeys.length} keys for ${endpoints.length} endpoints (give one, or one per endpoint)`,
    );
  }
  const curvePublicKey = checkCurveKey(curve.publicKey, "MdpClient: curve.publicKey");
  const curveSecretKey = checkCurveKey(curve.secretKey, "MdpClient: curve.secretKey");
  return serverKeys.map((key, i) => ({
    curveServerKey: checkCurveKey(key, `MdpClient: curve.serverKey[${i}]`),
    curvePublicKey,
    curveSecretKey,
  }));
}

/** Sets, and evicts the oldest entry past MAX_REMEMBERED; returns what it evicted. */
function remember<V>(map: Map<string, V>, key: string, value: V): V | undefined {
  map.set(key, value);
  if (map.size <= MAX_REMEMBERED) return undefined;
  const oldest = map.keys().next().value as string;
  const evicted = map.get(oldest);
  map.delete(oldest);
  return evicted;
}

/** How long before a write's deadline its withdrawal is asked for: enough for a round trip. */
function cancelLead(timeout: number): number {
  return Math.min(1000, Math.max(10, Math.floor(timeout / 4)));
}

/**
 * MDP/0.1 client: one DEALER to the active broker, many requests in flight
 * correlated by requestId, Lazy Pirate reconnect and failover on timeout.
 * Idempotent requests are retried freely; others are sent at most once.
 */
export class MdpClient {
  private readonly endpoints: string[];
  /** Per endpoint, the socket options that pin its broker's key (empty without CURVE). */
  private readonly curveOptions: CurveSocketOptions[];
  private readonly timeout: number;
  private readonly tries: number;
  private readonly idPrefix: string;
  private readonly ownIds: string;
  private readonly logger: MdpLogger;
  private readonly sessionToken: string | undefined;
  private readonly onLateReply: MdpClientOptions["onLateReply"];
  private readonly pending = new Map<string, Pending>();
  private readonly serviceFrames = new Map<string, Buffer>();
  /** mmi.* requests of our own, by id: what to do with the answer code. */
  private readonly probes = new Map<string, (code: string) => void>();
  private readonly unknownOutcomes = new Map<string, { service: string; conn: Connection }>();
  private readonly retired: Connection[] = [];
  private endpointIndex = 0;
  private conn: Connection;
  private counter = 0;
  private probeCounter = 0;
  private closed = false;
  /** close() was called: new requests are refused while it withdraws what is queued. */
  private closing = false;
  private readonly counters = {
    sent: 0,
    replies: 0,
    timeouts: 0,
    retries: 0,
    reconnects: 0,
    lateReplies: 0,
    brokerErrors: 0,
    badReplies: 0,
    outcomeUnknown: 0,
    withdrawn: 0,
    handshakeFailures: 0,
  };

  constructor(o: MdpClientOptions) {
    this.endpoints = parseEndpoints(o.endpoints);
    this.curveOptions = curveSocketOptions(this.endpoints, o.curve);
    this.timeout = positiveInt("timeout", o.timeout, MDP_DEFAULTS.timeout);
    this.tries = positiveInt("retries", o.retries, MDP_DEFAULTS.retries);
    this.idPrefix = o.idPrefix ?? `${process.pid.toString(36)}${randomBytes(3).toString("hex")}`;
    this.ownIds = `${this.idPrefix}-`;
    this.logger = o.logger ?? silentLogger;
    // 128 random bits: the broker joins retries by (token, requestId), so the token is what keeps
    // another peer that learned our requestIds from joining them or taking their answers.
    this.sessionToken = o.sessions === false ? undefined : randomBytes(16).toString("hex");
    this.onLateReply = o.onLateReply;
    this.conn = this.open(0);
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
    if (this.closed || this.closing)
      return Promise.reject(new MdpError("CLOSED", "MDP client is closed", { service, requestId: id }));
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
        idempotent: o?.idempotent === true,
        deadline: Date.now() + timeout * maxTries,
        tries: 1,
        timer: undefined,
        resolve,
        reject,
        signal: o?.signal,
        onAbort: undefined,
        conn: this.conn,
        receipt: undefined,
        ending: undefined,
        cancelTimer: undefined,
      };
      if (p.signal) {
        const onAbort = (): void => this.abort(p);
        p.onAbort = onAbort;
        p.signal.addEventListener("abort", onAbort, { once: true });
      }
      this.pending.set(id, p);
      this.conn.inFlight++;
      p.timer = setTimeout(this.onTimeout, timeout, p);
      this.transmit(p);
    });
  }

  /** RFC 8 service discovery: "200" if the broker has a live worker for `service`. */
  async mmi(service: string, o?: { timeout?: number; retries?: number }): Promise<"200" | "404" | "501"> {
    const reply = await this.request(MMI_SERVICE, Buffer.from(service), { ...o, idempotent: true });
    const code = reply.toString();
    if (code === "200" || code === "404" || code === "501") return code;
    throw new MdpError("BAD_REPLY", `mmi.service answered ${JSON.stringify(code)}`, { service: MMI_SERVICE });
  }

  stats(): MdpClientStats {
    const extensions = this.conn.extensions;
    return {
      inFlight: this.pending.size,
      ...this.counters,
      endpoint: this.conn.endpoint,
      brokerExtensions: extensions === undefined ? "unknown" : extensions ? "yes" : "no",
      curve: this.curveOptions.length > 0,
    };
  }

  /**
   * Closes every socket. Pending calls reject with CLOSED, except writes that already
   * left, which reject with OUTCOME_UNKNOWN: they may still run.
   *
   * `withdrawWithin` (ms): first ask a broker that has mmi.cancel to withdraw every
   * request still waiting in its queue, and wait that long at most for its answers.
   * Withdrawn requests reject EXPIRED (certainly never run), so a write that no worker
   * took yet is not left behind to run after its caller was told its outcome is unknown.
   * New requests are refused (CLOSED) from the moment close is called.
   */
  async close(o: { withdrawWithin?: number } = {}): Promise<void> {
    if (this.closed || this.closing) return;
    this.closing = true;
    if (o.withdrawWithin !== undefined && o.withdrawWithin > 0) await this.withdrawQueued(o.withdrawWithin);
    this.closed = true;
    this.shut(this.conn);
    for (const conn of this.retired.splice(0)) this.shut(conn);
    // Sends zeromq still held settle (as dropped) once their sockets are closed.
    await new Promise((resolve) => setImmediate(resolve));
    for (const p of [...this.pending.values()]) {
      if (!p.idempotent && p.receipt !== undefined && p.receipt.state !== SendState.DROPPED) {
        this.failUnknown(p, "the MDP client closed after the request was sent");
      } else {
        this.fail(p, "CLOSED", "MDP client closed");
      }
    }
  }

  /** mmi.cancel for every request that left on a socket whose broker has it; the withdrawn fail EXPIRED. */
  private async withdrawQueued(within: number): Promise<void> {
    const answers: Array<Promise<void>> = [];
    for (const p of this.pending.values()) {
      // A write's own socket once it left; a read's last one (it may have gone out on it).
      const conn = p.idempotent ? p.conn : p.receipt?.state === SendState.SENT ? p.receipt.conn : undefined;
      if (conn === undefined || conn.socket.closed || conn.extensions !== true) continue;
      answers.push(
        new Promise<void>((resolve) => {
          this.probe(conn, MMI_CANCEL, p.id, (code) => {
            if (code === MmiCode.OK && this.pending.get(p.id) === p) {
              if (!p.idempotent) this.counters.withdrawn++;
              this.fail(p, "EXPIRED", `withdrawn from the broker's queue as the client closed; it was not executed`);
            }
            resolve();
          });
        }),
      );
    }
    if (answers.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(answers),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, within);
      }),
    ]);
    clearTimeout(timer);
  }

  private serviceFrame(service: string): Buffer {
    let frame = this.serviceFrames.get(service);
    if (frame === undefined) {
      frame = Buffer.from(service);
      if (this.serviceFrames.size < 1024) this.serviceFrames.set(service, frame);
    }
    return frame;
  }

  // ---- connections ---------------------------------------------------------

  private open(index: number): Connection {
    const endpoint = this.endpoints[index] as string;
    // immediate: nothing is queued towards a broker that is not connected, so a
    // dead broker cannot deliver a burst of stale duplicates when it returns. Under
    // CURVE "connected" means after the handshake: a broker without the pinned key gets nothing.
    const socket = new Dealer({ immediate: true, linger: 0, ...this.curveOptions[index] });
    if (this.curveOptions.length > 0) {
      watchCurveHandshakes(socket, endpoint, this.logger, "mdp client", () => {
        this.counters.handshakeFailures++;
      });
    }
    socket.connect(endpoint);
    const writer = new SocketWriter(socket, (err) => this.logger.warn({ err, endpoint }, "mdp client: send failed"));
    const conn: Connection = {
      socket,
      writer,
      endpoint,
      openedAt: Date.now(),
      extensions: undefined,
      retired: false,
      retiredAt: 0,
      releaseTimer: undefined,
      inFlight: 0,
      writesAwaiting: 0,
      unknownAwaiting: 0,
    };
    void readLoop(socket, (msg) => this.onReply(conn, msg), this.logger, "mdp client");
    if (this.sessionToken !== undefined) {
      this.declareSession(conn);
      // libzmq reconnects a DEALER by itself when the broker restarts; the new broker
      // process has never heard of our session, so declare it again on every connect.
      // Only from the current socket: answers follow the socket that declared last.
      let first = true;
      socket.events.on("connect", () => {
        if (first) first = false;
        else if (conn === this.conn && !socket.closed) this.declareSession(conn);
      });
    }
    return conn;
  }

  private declareSession(conn: Connection): void {
    this.probe(conn, MMI_SESSION, this.sessionToken as string, (code) => {
      const supported = code === MmiCode.OK;
      if (conn.extensions !== supported) {
        this.logger.info(
          { endpoint: conn.endpoint, extensions: supported },
          supported
            ? "mdp client: broker joins retries and withdraws queued writes (mmi.session, mmi.cancel)"
            : "mdp client: conforming broker without mmi.session: a write that times out ends OUTCOME_UNKNOWN",
        );
      }
      conn.extensions = supported;
    });
  }

  /** An mmi.* request of our own, [id, argument] -> [id, code]; never retried, never pending. */
  private probe(conn: Connection, service: string, argument: string, onAnswer: (code: string) => void): void {
    const id = `${this.idPrefix}-m${++this.probeCounter}`;
    remember(this.probes, id, onAnswer);
    conn.writer.send([EMPTY_FRAME, CLIENT_FRAME, service, id, argument]);
  }

  private shut(conn: Connection): void {
    if (conn.releaseTimer !== undefined) clearTimeout(conn.releaseTimer);
    conn.writer.clear();
    if (!conn.socket.closed) conn.socket.close();
  }

  private reconnect(): void {
    if (this.closed) return;
    const old = this.conn;
    this.endpointIndex = (this.endpointIndex + 1) % this.endpoints.length;
    this.conn = this.open(this.endpointIndex);
    this.counters.reconnects++;
    this.logger.warn(
      { endpoint: this.conn.endpoint, inFlight: this.pending.size },
      "mdp client: reconnecting after timeout",
    );
    // What never left the old socket is dropped from it now; writes among it are sent
    // again on the new socket as their receipts settle (see onWriteSettled).
    old.writer.clear();
    // A socket with a send stuck in zeromq was never connected: nothing will come there.
    if (old.writer.busy) this.shut(old);
    else this.retire(old);
    // Idempotent requests move to the new socket with their same ids, without being
    // charged a try. Writes that left stay where they are: never sent twice.
    for (const p of this.pending.values()) if (p.idempotent) this.transmit(p);
  }

  /**
   * Keeps a replaced socket reading for one timeout, and for as long as writes sent on
   * it wait: the broker may have been only slow, and until our new socket's mmi.session
   * reaches it, our broker still routes answers to the old one. (Closing at once would
   * lose them: a send into a pipe libzmq has not torn down yet looks successful.)
   */
  private retire(conn: Connection): void {
    conn.retired = true;
    conn.retiredAt = Date.now();
    this.retired.push(conn);
    if (this.retired.length > MAX_RETIRED) this.shut(this.retired.shift() as Connection);
    this.releaseLater(conn, this.timeout);
  }

  private releaseLater(conn: Connection, delay: number): void {
    if (conn.releaseTimer !== undefined) return;
    conn.releaseTimer = setTimeout(() => {
      conn.releaseTimer = undefined;
      this.release(conn);
    }, delay);
    conn.releaseTimer.unref();
  }

  private release(conn: Connection): void {
    if (!conn.retired || conn.writesAwaiting > 0) return;
    const age = Date.now() - conn.retiredAt;
    if (age < this.timeout) return;
    if (conn.unknownAwaiting > 0 && age < LATE_REPLY_WINDOW_MS) {
      // A write of unknown outcome left on it: a conforming broker answers it here, if at all.
      this.releaseLater(conn, LATE_REPLY_WINDOW_MS - age);
      return;
    }
    const i = this.retired.indexOf(conn);
    if (i >= 0) this.retired.splice(i, 1);
    this.shut(conn);
  }

  // ---- sending ---------------------------------------------------------------

  private transmit(p: Pending): void {
    this.counters.sent++;
    if (p.conn !== this.conn) {
      p.conn.inFlight--;
      this.conn.inFlight++;
      p.conn = this.conn;
    }
    const frames = [EMPTY_FRAME, CLIENT_FRAME, p.serviceFrame, p.id, p.payload];
    if (p.idempotent) {
      this.conn.writer.send(frames);
      return;
    }
    const receipt: WriteReceipt = {
      state: SendState.QUEUED,
      pending: p,
      conn: this.conn,
      settled: () => this.onWriteSettled(receipt),
    };
    p.receipt = receipt;
    this.conn.writer.send(frames, receipt);
  }

  private onWriteSettled(receipt: WriteReceipt): void {
    const p = receipt.pending;
    if (this.pending.get(p.id) !== p || p.receipt !== receipt) return;
    if (receipt.state === SendState.SENT) {
      receipt.conn.writesAwaiting++;
      if (p.ending !== undefined) this.failUnknown(p, `${p.ending.message}, after it was sent`);
      else this.scheduleCancel(p);
      return;
    }
    // Dropped: it certainly never left.
    if (p.ending !== undefined) {
      this.fail(p, p.ending.code, `${p.ending.message}; it was never sent`);
      return;
    }
    p.receipt = undefined;
    if (this.closed) return;
    // Sent again at once when a newer socket exists; otherwise on the next try or reconnect.
    if (receipt.conn !== this.conn) {
      this.counters.retries++;
      this.transmit(p);
    }
  }

  // ---- replies -------------------------------------------------------------

  private onReply(conn: Connection, msg: Buffer[]): void {
    // ["", "MDPC01", service, requestId, body...]
    const n = msg.length;
    if (n < 4 || !frameEquals(msg[1], CLIENT_FRAME)) {
      this.counters.badReplies++;
      return;
    }
    if (n === 4) {
      // [service, body]: a plain RFC 7 reply, i.e. a worker that dropped our requestId frame.
      this.uncorrelated(conn, msg[2] as Buffer);
      return;
    }
    const id = (msg[3] as Buffer).toString();
    const p = this.pending.get(id);
    if (p === undefined) {
      this.unknownId(conn, id, msg);
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
    this.failBadReply(p, `reply to ${id} has ${n - 4} body frames, expected 1`);
  }

  private unknownId(conn: Connection, id: string, msg: Buffer[]): void {
    const probe = this.probes.get(id);
    if (probe !== undefined) {
      this.probes.delete(id);
      probe((msg[msg.length - 1] as Buffer).toString());
      return;
    }
    const unknown = this.unknownOutcomes.get(id);
    if (unknown !== undefined) {
      // The answer to a write whose caller was told OUTCOME_UNKNOWN: now it is known.
      const unknownService = unknown.service;
      this.counters.lateReplies++;
      this.unknownOutcomes.delete(id);
      unknown.conn.unknownAwaiting--;
      this.release(unknown.conn);
      this.logger.warn(
        { requestId: id, service: unknownService },
        "mdp client: late reply to a write of unknown outcome",
      );
      if (msg.length === 5) this.onLateReply?.({ requestId: id, service: unknownService, reply: msg[4] as Buffer });
      return;
    }
    if (id.startsWith(this.ownIds) || msg.length === 7) {
      // One of ours that came after its caller gave up (or a late broker error).
      this.counters.lateReplies++;
      return;
    }
    this.uncorrelated(conn, msg[2] as Buffer);
  }

  /**
   * A reply no id matches. With exactly one request in flight on that socket for that
   * service it can only be that one's: fail it BAD_REPLY now instead of letting it time out.
   */
  private uncorrelated(conn: Connection, serviceFrame: Buffer): void {
    this.counters.badReplies++;
    if (conn.inFlight === 1) {
      for (const p of this.pending.values()) {
        if (p.conn === conn) {
          if (p.serviceFrame.equals(serviceFrame)) this.failBadReply(p, "the worker replied without the requestId");
          return;
        }
      }
    }
    this.logger.warn({ service: serviceFrame.toString() }, "mdp client: reply without a known requestId dropped");
  }

  private onBrokerError(p: Pending, code: string, message: string): void {
    if (code === BrokerErrorCode.WORKER_LOST) {
      if (!p.idempotent) {
        // It reached a worker, which may have acted before it died.
        this.failUnknown(p, `the worker died holding it (${message})`);
        return;
      }
      if (p.tries < p.maxTries) {
        // The broker told us at once that the worker died: retry now, same id,
        // so a worker that did execute it answers from its reply cache.
        p.tries++;
        this.counters.retries++;
        p.timer?.refresh();
        this.transmit(p);
        return;
      }
    }
    if (code === BrokerErrorCode.BAD_REPLY || !KNOWN_BROKER_CODES.has(code)) {
      this.failBadReply(p, code === BrokerErrorCode.BAD_REPLY ? message : `unknown broker error ${code}: ${message}`);
      return;
    }
    // QUEUE_FULL, EXPIRED, MALFORMED: the broker refused it before any worker had it.
    this.fail(p, code as MdpErrorCode, message);
  }

  // ---- time ----------------------------------------------------------------

  private readonly onTimeout = (p: Pending): void => {
    if (this.closed || this.pending.get(p.id) !== p) return;
    this.counters.timeouts++;
    if (!p.idempotent) {
      this.onWriteTimeout(p);
      return;
    }
    if (p.tries >= p.maxTries) {
      this.fail(p, "TIMEOUT", `no reply from ${p.service} after ${p.tries} tries of ${p.timeout} ms`);
      // Nobody waits for it any more: a copy still queued at our broker must not run later.
      if (this.conn.extensions === true) this.probe(this.conn, MMI_CANCEL, p.id, noop);
      return;
    }
    p.tries++;
    this.counters.retries++;
    p.timer?.refresh();
    this.suspectSocket(p);
  };

  /**
   * Lazy Pirate: only a socket that has had a full timeout to answer is declared dead.
   * Requests moved onto a fresh socket already went out on it, so their own expiring
   * try does not tear it down again (no cascade). A call with a shorter deadline than
   * the client's (a health probe) is not evidence enough to fail over every request in flight.
   */
  private suspectSocket(p: Pending): void {
    if (p.timeout >= this.timeout && Date.now() - this.conn.openedAt >= p.timeout) this.reconnect();
  }

  private onWriteTimeout(p: Pending): void {
    if (p.tries >= p.maxTries) {
      this.end(p, "TIMEOUT", `no reply from ${p.service} within ${p.tries} tries of ${p.timeout} ms`);
      return;
    }
    p.tries++;
    p.timer?.refresh();
    if (p.receipt?.state === SendState.SENT) return; // it left: wait for its answer, never send it again
    // It has not left this client: the socket may be dead.
    this.counters.retries++;
    if (p.receipt === undefined) this.transmit(p);
    else this.suspectSocket(p);
  }

  /**
   * A write's deadline: ask our broker to withdraw it if no worker took it yet, which
   * turns an unknown outcome into a certain "not executed". A conforming broker lacks
   * mmi.cancel, and there the write ends OUTCOME_UNKNOWN at its deadline.
   */
  private scheduleCancel(p: Pending): void {
    if (this.sessionToken === undefined) return;
    const delay = p.deadline - cancelLead(p.timeout) - Date.now();
    p.cancelTimer = setTimeout(this.requestCancel, Math.max(0, delay), p);
  }

  private readonly requestCancel = (p: Pending): void => {
    p.cancelTimer = undefined;
    const receipt = p.receipt;
    if (this.pending.get(p.id) !== p || receipt?.state !== SendState.SENT) return;
    // On the socket the write left on, so the broker sees the cancel after the write;
    // on the current one if that socket is gone (the write left long ago: it is there).
    const conn = receipt.conn.socket.closed ? this.conn : receipt.conn;
    if (conn.extensions !== true) return;
    this.probe(conn, MMI_CANCEL, p.id, (code) => {
      if (code !== MmiCode.OK || this.pending.get(p.id) !== p) return;
      this.counters.withdrawn++;
      this.fail(p, "EXPIRED", `no ${p.service} worker took it before the deadline; withdrawn, it was not executed`);
    });
  };

  private abort(p: Pending): void {
    if (p.idempotent) {
      this.fail(p, "ABORTED", "request aborted");
      return;
    }
    if (p.receipt?.state === SendState.SENT) this.requestCancel(p);
    this.end(p, "ABORTED", "request aborted");
  }

  /**
   * Ends a write with `code` if it certainly never left, OUTCOME_UNKNOWN if it did.
   * A send still in zeromq's hands (the socket is not writable) is made certain by
   * closing that socket, so it can never go out later.
   */
  private end(p: Pending, code: MdpErrorCode, message: string): void {
    const receipt = p.receipt;
    if (receipt === undefined || receipt.state === SendState.DROPPED) {
      this.fail(p, code, `${message}; it was never sent`);
      return;
    }
    if (receipt.state === SendState.SENT) {
      this.failUnknown(p, `${message}, after it was sent`);
      return;
    }
    // Recorded first: withdrawing settles the receipt at once, and onWriteSettled ends it.
    p.ending = { code, message };
    if (receipt.state === SendState.QUEUED && receipt.conn.writer.withdraw(receipt)) return;
    if (receipt.conn === this.conn) this.reconnect();
    else this.shut(receipt.conn);
  }

  // ---- outcomes --------------------------------------------------------------

  private settle(p: Pending): void {
    this.pending.delete(p.id);
    p.conn.inFlight--;
    if (p.timer !== undefined) clearTimeout(p.timer);
    if (p.cancelTimer !== undefined) clearTimeout(p.cancelTimer);
    if (p.onAbort !== undefined) p.signal?.removeEventListener("abort", p.onAbort);
    const receipt = p.receipt;
    if (receipt !== undefined && receipt.state === SendState.SENT) {
      receipt.conn.writesAwaiting--;
      this.release(receipt.conn);
    }
  }

  private fail(p: Pending, code: MdpErrorCode, message: string): void {
    if (this.pending.get(p.id) !== p) return;
    this.settle(p);
    p.reject(new MdpError(code, message, { service: p.service, requestId: p.id, tries: p.tries }));
  }

  /** The caller must check before sending it again: it may have been executed. */
  private failUnknown(p: Pending, why: string): void {
    if (this.pending.get(p.id) !== p) return;
    this.counters.outcomeUnknown++;
    const conn = p.receipt !== undefined && p.receipt.state === SendState.SENT ? p.receipt.conn : p.conn;
    conn.unknownAwaiting++;
    const evicted = remember(this.unknownOutcomes, p.id, { service: p.service, conn });
    if (evicted !== undefined) evicted.conn.unknownAwaiting--;
    this.logger.warn({ requestId: p.id, service: p.service, why }, "mdp client: write outcome unknown");
    this.fail(p, "OUTCOME_UNKNOWN", `outcome of ${p.service} request ${p.id} unknown: ${why}`);
  }

  /** A worker answered in a shape we cannot read: for a write, it did run there. */
  private failBadReply(p: Pending, message: string): void {
    if (p.idempotent) this.fail(p, "BAD_REPLY", message);
    else this.failUnknown(p, `unreadable reply (${message})`);
  }
}

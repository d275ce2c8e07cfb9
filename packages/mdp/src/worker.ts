import { Dealer } from "zeromq";
import { type CurveClientKeys, checkCurveKey } from "./curve-keys.js";
import { watchCurveHandshakes } from "./curve-watch.js";
import { type MdpLogger, silentLogger } from "./logger.js";
import {
  DISCONNECT_FRAME,
  EMPTY_FRAME,
  HEARTBEAT_FRAME,
  MDP_DEFAULTS,
  MdpCommand,
  READY_FRAME,
  REPLY_FRAME,
  WORKER_FRAME,
  frameEquals,
} from "./protocol.js";
import { positiveOption } from "./options.js";
import { readLoop } from "./read-loop.js";
import { ReplyCache } from "./reply-cache.js";
import { type Frames, SocketWriter } from "./socket-writer.js";

export type MdpHandler = (
  payload: Buffer,
  ctx: { requestId: string; service: string; client: Buffer },
) => Promise<Uint8Array> | Uint8Array;

export interface MdpWorkerOptions {
  endpoint: string;
  service: string;
  handler: MdpHandler;
  /** The reply sent (and cached) when the handler throws. */
  errorReply?: (err: unknown) => Uint8Array;
  heartbeatInterval?: number;
  liveness?: number;
  /** Delay before reconnecting after the broker went silent (ms). */
  reconnect?: number;
  /** N DEALER sockets, each a conforming RFC 7 worker, sharing one reply cache. */
  concurrency?: number;
  replyCacheSize?: number;
  replyCacheTtl?: number;
  /**
   * CURVE: this worker's key pair and the broker's public key it pins. Under CURVE our
   * broker takes a service's workers on that service's own endpoint (`bindWorkers`),
   * and only with a key listed for the service.
   */
  curve?: CurveClientKeys;
  logger?: MdpLogger;
}

export interface MdpWorkerStats {
  handled: number;
  cacheHits: number;
  inProgress: number;
  reconnects: number;
  /** CURVE handshakes with the broker that failed (it does not hold the pinned key, or refused ours). */
  handshakeFailures: number;
}

/** One RFC 7 worker session: a DEALER that sent READY, and its liveness. */
interface Session {
  readonly index: number;
  socket: Dealer | undefined;
  writer: SocketWriter | undefined;
  /** Bumped on every reconnect: replies computed for an older session are not sent. */
  generation: number;
  lastHeard: number;
  reconnectTimer: NodeJS.Timeout | undefined;
}

function defaultErrorReply(err: unknown): Uint8Array {
  const message = err instanceof Error ? err.message : String(err);
  return Buffer.from(`MDP worker handler error: ${message}`);
}

const positive = positiveOption("MdpWorker");

export class MdpWorker {
  private readonly endpoint: string;
  private readonly service: string;
  private readonly serviceFrame: Buffer;
  private readonly handler: MdpHandler;
  private readonly errorReply: (err: unknown) => Uint8Array;
  private readonly heartbeatInterval: number;
  private readonly liveness: number;
  private readonly reconnectDelay: number;
  private readonly logger: MdpLogger;
  private readonly cache: ReplyCache;
  private readonly inProgress = new Map<string, Promise<Uint8Array>>();
  private readonly sessions: Session[];
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private running = false;
  private readonly curve: CurveClientKeys | undefined;
  private readonly counters = { handled: 0, cacheHits: 0, reconnects: 0, handshakeFailures: 0 };

  constructor(o: MdpWorkerOptions) {
    if (typeof o.endpoint !== "string" || o.endpoint.length === 0)
      throw new TypeError("MdpWorker: endpoint is required");
    if (typeof o.service !== "string" || o.service.length === 0) throw new TypeError("MdpWorker: service is required");
    if (typeof o.handler !== "function") throw new TypeError("MdpWorker: handler must be a function");
    this.endpoint = o.endpoint;
    this.service = o.service;
    this.serviceFrame = Buffer.from(o.service);
    this.handler = o.handler;
    this.errorReply = o.errorReply ?? defaultErrorReply;
    this.heartbeatInterval = positive("heartbeatInterval", o.heartbeatInterval, MDP_DEFAULTS.heartbeatInterval);
    this.liveness = positive("liveness", o.liveness, MDP_DEFAULTS.liveness);
    this.reconnectDelay = o.reconnect ?? MDP_DEFAULTS.reconnect;
    this.logger = o.logger ?? silentLogger;
    this.curve =
      o.curve === undefined
        ? undefined
        : {
            serverKey: checkCurveKey(o.curve.serverKey, "MdpWorker: curve.serverKey"),
            publicKey: checkCurveKey(o.curve.publicKey, "MdpWorker: curve.publicKey"),
            secretKey: checkCurveKey(o.curve.secretKey, "MdpWorker: curve.secretKey"),
          };
    this.cache = new ReplyCache(
      Math.floor(positive("replyCacheSize", o.replyCacheSize, MDP_DEFAULTS.replyCacheSize)),
      positive("replyCacheTtl", o.replyCacheTtl, MDP_DEFAULTS.replyCacheTtl),
    );
    const concurrency = Math.floor(positive("concurrency", o.concurrency, 1));
    this.sessions = Array.from({ length: concurrency }, (_, index) => ({
      index,
      socket: undefined,
      writer: undefined,
      generation: 0,
      lastHeard: 0,
      reconnectTimer: undefined,
    }));
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    for (const s of this.sessions) this.connect(s);
    this.heartbeatTimer = setInterval(this.tick, this.heartbeatInterval);
  }

  async close(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.heartbeatTimer !== undefined) clearInterval(this.heartbeatTimer);
    for (const s of this.sessions) {
      if (s.reconnectTimer !== undefined) clearTimeout(s.reconnectTimer);
      const socket = s.socket;
      if (socket === undefined || socket.closed) continue;
      s.writer?.send([EMPTY_FRAME, WORKER_FRAME, DISCONNECT_FRAME]);
      // Give DISCONNECT a moment to leave: linger 0 would discard it.
      socket.linger = 100;
      this.drop(s);
    }
  }

  stats(): MdpWorkerStats {
    return { ...this.counters, inProgress: this.inProgress.size };
  }

  private connect(s: Session): void {
    s.reconnectTimer = undefined;
    if (!this.running) return;
    // sendTimeout 0: a DEALER towards one broker only blocks at the high-water
    // mark, and skipping the writability probe saves a syscall per reply.
    const curve = this.curve;
    const socket = new Dealer({
      linger: 0,
      sendTimeout: 0,
      ...(curve === undefined
        ? {}
        : { curveServerKey: curve.serverKey, curvePublicKey: curve.publicKey, curveSecretKey: curve.secretKey }),
    });
    if (curve !== undefined) {
      watchCurveHandshakes(socket, this.endpoint, this.logger, "mdp worker", () => {
        this.counters.handshakeFailures++;
      });
    }
    socket.connect(this.endpoint);
    s.socket = socket;
    s.writer = new SocketWriter(socket, (err) =>
      this.logger.warn({ err, endpoint: this.endpoint, session: s.index }, "mdp worker: send failed"),
    );
    s.generation++;
    s.lastHeard = Date.now();
    s.writer.send([EMPTY_FRAME, WORKER_FRAME, READY_FRAME, this.serviceFrame]);
    const generation = s.generation;
    void readLoop(
      socket,
      (msg) => this.onMessage(s, msg),
      this.logger,
      "mdp worker",
      () => s.generation === generation,
    );
  }

  private drop(s: Session): void {
    s.writer?.clear();
    if (s.socket !== undefined && !s.socket.closed) s.socket.close();
    s.socket = undefined;
    s.writer = undefined;
    s.generation++;
  }

  private reconnect(s: Session, delay: number, why: string): void {
    this.drop(s);
    if (!this.running || s.reconnectTimer !== undefined) return;
    this.counters.reconnects++;
    this.logger.warn(
      { endpoint: this.endpoint, service: this.service, session: s.index, why },
      "mdp worker: reconnecting",
    );
    s.reconnectTimer = setTimeout(() => this.connect(s), delay);
  }

  /** Heartbeats go out every interval, busy or not, so the broker can tell a busy worker from a dead one. */
  private readonly tick = (): void => {
    const now = Date.now();
    const silence = this.heartbeatInterval * this.liveness;
    for (const s of this.sessions) {
      if (s.writer === undefined) continue;
      if (now - s.lastHeard > silence) this.reconnect(s, this.reconnectDelay, "broker silent");
      else s.writer.send([EMPTY_FRAME, WORKER_FRAME, HEARTBEAT_FRAME]);
    }
    this.cache.purge(now);
  };

  private onMessage(s: Session, msg: Buffer[]): void {
    // ["", "MDPW01", command, ...]
    s.lastHeard = Date.now();
    const command = msg[2];
    if (msg.length < 3 || !frameEquals(msg[1], WORKER_FRAME) || command === undefined || command.length !== 1) {
      this.logger.warn({ frames: msg.length }, "mdp worker: malformed message from broker dropped");
      return;
    }
    switch (command[0]) {
      case MdpCommand.REQUEST:
        this.onRequest(s, msg);
        return;
      case MdpCommand.HEARTBEAT:
        return;
      case MdpCommand.DISCONNECT:
        this.reconnect(s, 0, "broker sent DISCONNECT");
        return;
      default:
        this.logger.warn({ command: command[0] }, "mdp worker: unexpected command dropped");
    }
  }

  private onRequest(s: Session, msg: Buffer[]): void {
    // ["", "MDPW01", 0x02, client, "", requestId, payload] (ours) or ["", "MDPW01", 0x02, client, "", body] (plain RFC 7)
    const client = msg[3];
    if (msg.length < 6 || client === undefined || msg[4]?.length !== 0) {
      this.logger.warn({ frames: msg.length }, "mdp worker: malformed REQUEST dropped");
      return;
    }
    const generation = s.generation;
    if (msg.length === 6) {
      // No request id: nothing to dedupe by, run it as is.
      void Promise.resolve(this.execute("", msg[5] as Buffer, client)).then((reply) => {
        this.counters.handled++;
        this.reply(s, generation, client, undefined, reply);
      });
      return;
    }
    const idFrame = msg[5] as Buffer;
    const id = idFrame.toString();
    const now = Date.now();
    const cached = this.cache.get(id, now);
    if (cached !== undefined) {
      this.counters.cacheHits++;
      this.reply(s, generation, client, idFrame, cached);
      return;
    }
    const running = this.inProgress.get(id);
    if (running !== undefined) {
      // A retry of a request that is still executing (maybe on another socket): join it.
      this.counters.cacheHits++;
      running.then((reply) => this.reply(s, generation, client, idFrame, reply));
      return;
    }
    const outcome = this.execute(id, msg[6] as Buffer, client);
    if (!(outcome instanceof Promise)) {
      // Synchronous handler: answer before the read loop re-arms (no promise, no extra poll).
      this.finish(id, outcome);
      this.reply(s, generation, client, idFrame, outcome);
      return;
    }
    this.inProgress.set(id, outcome);
    outcome.then((reply) => {
      this.inProgress.delete(id);
      this.finish(id, reply);
      this.reply(s, generation, client, idFrame, reply);
    });
  }

  private finish(id: string, reply: Uint8Array): void {
    this.counters.handled++;
    this.cache.set(id, reply, Date.now());
  }

  /**
   * Runs the handler; a synchronous handler's reply comes back synchronously.
   * Never throws or rejects: a failing handler yields errorReply, cached like any reply.
   */
  private execute(requestId: string, payload: Buffer, client: Buffer): Uint8Array | Promise<Uint8Array> {
    let result: Uint8Array | Promise<Uint8Array>;
    try {
      result = this.handler(payload, { requestId, service: this.service, client });
    } catch (err) {
      return this.failed(err, requestId);
    }
    if (result instanceof Uint8Array) return result;
    return Promise.resolve(result).then(
      (reply) =>
        reply instanceof Uint8Array
          ? reply
          : this.failed(new TypeError("MdpWorker: handler must return a Uint8Array"), requestId),
      (err: unknown) => this.failed(err, requestId),
    );
  }

  private failed(err: unknown, requestId: string): Uint8Array {
    this.logger.error({ err, requestId, service: this.service }, "mdp worker: handler failed");
    try {
      const reply = this.errorReply(err);
      if (reply instanceof Uint8Array) return reply;
      return defaultErrorReply(new TypeError("errorReply must return a Uint8Array"));
    } catch (replyErr) {
      return defaultErrorReply(replyErr);
    }
  }

  private reply(s: Session, generation: number, client: Buffer, idFrame: Buffer | undefined, body: Uint8Array): void {
    // After a reconnect the broker no longer expects this reply; the client's
    // retry (same id) will be answered from the cache instead.
    if (s.generation !== generation || s.writer === undefined) return;
    const frames: Frames =
      idFrame === undefined
        ? [EMPTY_FRAME, WORKER_FRAME, REPLY_FRAME, client, EMPTY_FRAME, body]
        : [EMPTY_FRAME, WORKER_FRAME, REPLY_FRAME, client, EMPTY_FRAME, idFrame, body];
    s.writer.send(frames);
  }
}

import { Context, type EventOfType, Router } from "zeromq";
import { type Session, SESSION_TOKEN_MAX, SESSION_TOKEN_MIN, SessionRegistry } from "./broker-sessions.js";
import { checkCurveKey } from "./curve-keys.js";
import { Fifo } from "./fifo.js";
import { type MdpLogger, silentLogger } from "./logger.js";
import { positiveOption } from "./options.js";
import {
  BrokerErrorCode,
  CLIENT_FRAME,
  DISCONNECT_FRAME,
  EMPTY_FRAME,
  ERROR_MARKER_FRAME,
  HEARTBEAT_FRAME,
  MDP_DEFAULTS,
  MMI_CANCEL,
  MMI_PREFIX,
  MMI_SERVICE,
  MMI_SESSION,
  MdpCommand,
  MmiCode,
  REQUEST_FRAME,
  WORKER_FRAME,
  frameEquals,
} from "./protocol.js";
import { readLoop } from "./read-loop.js";
import { Outbound, type OutboundMessage, RouterSender } from "./router-sender.js";
import type { Frames } from "./socket-writer.js";
import { ZapHandler } from "./zap.js";

export interface MdpBrokerOptions {
  heartbeatInterval?: number;
  /** Heartbeat intervals an idle worker may stay silent (RFC 7 liveness). */
  liveness?: number;
  /** How long (ms) a busy worker may stay silent before it is declared lost. */
  busyTimeout?: number;
  /** Most requests queued per service; more are answered QUEUE_FULL. */
  maxQueue?: number;
  /**
   * Most requests queued across all services (default 4 x maxQueue): any service
   * name opens a queue, so without a global bound a client could queue
   * maxQueue requests under each of endless made-up names.
   */
  maxQueueTotal?: number;
  /** Most requests one client (session, or socket without one) may have queued. */
  maxQueuePerClient?: number;
  /** Most requests queued, all together, for services that no worker serves. */
  maxQueueUnserved?: number;
  /** Most time a request may wait for a worker (ms); it is never dispatched later, and is answered EXPIRED. */
  requestTtl?: number;
  /** Largest inbound frame in bytes (ZMQ_MAXMSGSIZE): a peer sending a larger one is disconnected. */
  maxMessageSize?: number;
  /** Most messages held for one peer whose pipe is full, or for a session whose socket went away. */
  maxPeerBacklog?: number;
  /** Most client sessions remembered (mmi.session). */
  maxSessions?: number;
  /**
   * CURVE with allow-lists (see README, "Security"): clients connect to bind()'s
   * endpoint, the workers of each service to that service's own endpoint
   * (bindWorkers), and each endpoint admits only the keys listed for it.
   */
  curve?: MdpBrokerCurve;
  logger?: MdpLogger;
}

export interface MdpBrokerCurve {
  /** The broker's secret key (Z85); its public key is what clients and workers pin. */
  secretKey: string;
  /** Public keys (Z85) admitted on the client endpoint. */
  clients: readonly string[];
  /** Per service, the public keys admitted on its worker endpoint: only they may serve it. */
  workers: Readonly<Record<string, readonly string[]>>;
}

export interface MdpBrokerCurveStats {
  enabled: boolean;
  /** CURVE handshakes whose key was listed for the endpoint. */
  admitted: number;
  /** Handshakes refused by the allow-list: a valid key, not listed for that endpoint. */
  refused: number;
  /** Handshakes that failed before the allow-list: no CURVE, the wrong server key, a mismatched key pair. */
  handshakeFailures: number;
  /**
   * Handshakes the peer hung up on midway (ECONNRESET, EPIPE): a port scan, or a peer
   * without CURVE whose own side saw the mismatch first. Logged at debug only.
   */
  handshakesCutShort: number;
  /** Messages for another endpoint's role: worker commands on the client endpoint, READY for another service (subset of dropped). */
  wrongEndpoint: number;
}

export interface MdpBrokerStats {
  services: Record<string, { workers: number; idle: number; queued: number }>;
  /** Every inbound message dropped for any reason below (their sum). */
  dropped: number;
  /** Too few or too many frames, non-empty delimiter, bad command frame. */
  malformed: number;
  /** Neither MDPC01 nor MDPW01 in the protocol frame. */
  badProtocol: number;
  /** Commands out of order per RFC 7 (READY twice, REQUEST from a worker, reply with no request...); the worker is disconnected. */
  protocolErrors: number;
  /** Commands from workers that are not registered (answered with DISCONNECT). */
  unknownWorker: number;
  /** REPLY from a worker that holds no request (subset of protocolErrors). */
  replyWithoutRequest: number;
  /** DISCONNECT from an idle worker (handled: the worker is removed). */
  idleDisconnects: number;
  workersRegistered: number;
  /** Removed for silence: idle past liveness, or busy past busyTimeout. */
  workersExpired: number;
  /** Removed because a send to them failed: their socket is gone (ROUTER_MANDATORY). */
  workersGone: number;
  /** Requests whose worker went away while holding them (answered WORKER_LOST). */
  workersLost: number;
  /** HEARTBEATs received from registered workers. */
  heartbeats: number;
  requests: number;
  replies: number;
  /** Retries of a request already queued or running: joined, not queued again. */
  joined: number;
  /** Requests withdrawn from a queue by mmi.cancel. */
  cancelled: number;
  expired: number;
  queueFull: number;
  /** Worker replies without the requestId of their request (answered BAD_REPLY). */
  badReplies: number;
  mmi: number;
  /** Answers that never reached their client, each logged: the client's socket was gone, or its backlog full. */
  undelivered: number;
  /** Messages waiting now for peers whose pipe is full. */
  backlog: number;
  /** Messages that had to wait for a full peer since start (sent later, not dropped). */
  deferred: number;
  /** Answers held now for sessions whose socket went away (until the client reconnects, or requestTtl). */
  held: number;
  /** Connections closed: peers gone, or refused by the socket (a frame above maxMessageSize). */
  disconnects: number;
  sessions: number;
  curve: MdpBrokerCurveStats;
}

const JobState = { QUEUED: 0, RUNNING: 1, DONE: 2 } as const;
type JobState = (typeof JobState)[keyof typeof JobState];

interface Job {
  /** (session token or socket, requestId): a retry with the same key joins this job. Undefined without a requestId. */
  readonly key: string | undefined;
  /** Whose per-client bound it counts against. */
  readonly scope: string;
  /** The socket that asked last (for a client without a session). */
  client: Buffer;
  readonly session: Session | undefined;
  /** The client's whole message; frames from index 4 on are the opaque body (requestId first). */
  readonly msg: Buffer[];
  readonly at: number;
  readonly service: Service;
  state: JobState;
  worker: WorkerRec | null;
  /** The client frame put in the REQUEST, which the worker's REPLY must echo. */
  origin: Buffer | null;
}

interface WorkerRec {
  readonly identity: Buffer;
  readonly key: string;
  readonly port: Port;
  readonly service: Service;
  lastHeard: number;
  job: Job | null;
}

interface Service {
  readonly name: string;
  readonly frame: Buffer;
  /** Waiting jobs in arrival order; cancelled ones stay as DONE tombstones until they reach the front. */
  readonly queue: Fifo<Job>;
  /** Jobs really waiting (the queue minus tombstones). */
  queued: number;
  /** Idle workers, least recently used first. */
  readonly idle: WorkerRec[];
  readonly workers: Set<WorkerRec>;
}

type Ref = Job | WorkerRec | Session | undefined;

/** One ROUTER socket of the broker and what may arrive on it. */
interface Port {
  readonly socket: Router;
  readonly sender: RouterSender<Ref>;
  /** undefined: the client endpoint (without CURVE, workers too); a name: that service's worker endpoint. */
  readonly service: string | undefined;
  /** Prefix of its workers' keys: routing ids are unique per socket only. */
  readonly prefix: string;
  loop: Promise<void> | undefined;
}

const CLIENT_DOMAIN = "mdp-clients";
const workerDomain = (service: string): string => `mdp-workers:${service}`;

/** More frames than any MDP client message needs (ours has 5): refused, not parsed. */
const MAX_CLIENT_FRAMES = 32;
const MAX_REQUEST_ID = 255;
/** After a peer disconnects, probe the workers this soon (and once more a little later). */
const PROBE_DELAYS_MS = [5, 100] as const;

const positive = positiveOption("MdpBroker");

/**
 * MDP/0.1 broker (RFC 7 + RFC 8 mmi.service, and our mmi.session / mmi.cancel) on one
 * ROUTER socket. Unlike the zguide brokers it joins retries instead of queueing
 * copies, never dispatches a request past its age limit, tells a slow busy worker
 * from a dead one, answers WORKER_LOST to the socket waiting now, never drops an
 * answer without counting and logging it, bounds its queues per client, and
 * survives any input.
 */
export class MdpBroker {
  private readonly heartbeatInterval: number;
  private readonly expiry: number;
  private readonly busyTimeout: number;
  private readonly maxQueue: number;
  private readonly maxQueueTotal: number;
  private readonly maxQueuePerClient: number;
  private readonly maxQueueUnserved: number;
  private readonly maxPeerBacklog: number;
  private readonly requestTtl: number;
  private readonly logger: MdpLogger;
  private readonly maxMessageSize: number;
  private readonly curve: MdpBrokerCurve | undefined;
  /** A context of its own under CURVE: libzmq allows one ZAP handler per context. */
  private readonly context: Context | undefined;
  private readonly zap: ZapHandler | undefined;
  private zapStarted: Promise<void> | undefined;
  private readonly clientPort: Port;
  /** The client port's sender: every answer to a client goes through it. */
  private readonly sender: RouterSender<Ref>;
  private readonly workerPorts = new Map<string, Port>();
  private readonly services = new Map<string, Service>();
  private readonly workers = new Map<string, WorkerRec>();
  /** Queued and running jobs by key, so a retry joins instead of queueing a copy. */
  private readonly jobs = new Map<string, Job>();
  private readonly queuedByClient = new Map<string, number>();
  private readonly sessions: SessionRegistry;
  private readonly holding = new Set<Session>();
  private queuedTotal = 0;
  private queuedUnserved = 0;
  private heldTotal = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly probeTimers: Array<NodeJS.Timeout | undefined> = [];
  private nextHeartbeatAt = 0;
  private closed = false;
  private readonly lastWarned = new Map<string, { at: number; suppressed: number }>();
  private readonly counters = {
    malformed: 0,
    badProtocol: 0,
    protocolErrors: 0,
    unknownWorker: 0,
    replyWithoutRequest: 0,
    idleDisconnects: 0,
    workersRegistered: 0,
    workersExpired: 0,
    workersGone: 0,
    workersLost: 0,
    heartbeats: 0,
    requests: 0,
    replies: 0,
    joined: 0,
    cancelled: 0,
    expired: 0,
    queueFull: 0,
    badReplies: 0,
    mmi: 0,
    undelivered: 0,
    disconnects: 0,
    wrongEndpoint: 0,
    handshakeFailures: 0,
    handshakesCutShort: 0,
  };

  constructor(o: MdpBrokerOptions = {}) {
    this.heartbeatInterval = positive("heartbeatInterval", o.heartbeatInterval, MDP_DEFAULTS.heartbeatInterval);
    this.expiry = this.heartbeatInterval * positive("liveness", o.liveness, MDP_DEFAULTS.liveness);
    this.busyTimeout = positive("busyTimeout", o.busyTimeout, MDP_DEFAULTS.busyTimeout);
    this.maxQueue = Math.floor(positive("maxQueue", o.maxQueue, MDP_DEFAULTS.maxQueue));
    this.maxQueueTotal = Math.floor(positive("maxQueueTotal", o.maxQueueTotal, 4 * this.maxQueue));
    this.maxQueuePerClient = Math.floor(
      positive("maxQueuePerClient", o.maxQueuePerClient, Math.min(MDP_DEFAULTS.maxQueuePerClient, this.maxQueue)),
    );
    this.maxQueueUnserved = Math.floor(
      positive("maxQueueUnserved", o.maxQueueUnserved, Math.min(MDP_DEFAULTS.maxQueueUnserved, this.maxQueue)),
    );
    this.requestTtl = positive("requestTtl", o.requestTtl, MDP_DEFAULTS.requestTtl);
    this.maxPeerBacklog = Math.floor(positive("maxPeerBacklog", o.maxPeerBacklog, MDP_DEFAULTS.maxPeerBacklog));
    this.maxMessageSize = Math.floor(positive("maxMessageSize", o.maxMessageSize, MDP_DEFAULTS.maxMessageSize));
    this.sessions = new SessionRegistry(Math.floor(positive("maxSessions", o.maxSessions, 10_000)));
    this.logger = o.logger ?? silentLogger;
    this.curve = o.curve === undefined ? undefined : checkCurveOptions(o.curve);
    if (this.curve !== undefined) {
      this.context = new Context();
      this.zap = new ZapHandler(this.context, this.logger);
      this.zap.allow(CLIENT_DOMAIN, this.curve.clients);
      for (const [service, keys] of Object.entries(this.curve.workers)) this.zap.allow(workerDomain(service), keys);
    }
    this.clientPort = this.openPort(undefined, "");
    this.sender = this.clientPort.sender;
  }

  /**
   * Binds the client endpoint (more than once is fine) and returns it resolved, e.g.
   * the port chosen for tcp://127.0.0.1:*. Without CURVE, workers register here too.
   */
  async bind(endpoint: string): Promise<string> {
    return this.bindPort(this.clientPort, endpoint);
  }

  /**
   * Under CURVE: binds the endpoint where the workers of `service` register, admitting
   * only the keys `curve.workers[service]` lists; a READY for any other service there
   * is refused. Returns the resolved endpoint.
   */
  async bindWorkers(service: string, endpoint: string): Promise<string> {
    const curve = this.curve;
    if (curve === undefined) {
      throw new TypeError(
        "MdpBroker.bindWorkers: worker endpoints need options.curve; without it workers use bind()'s",
      );
    }
    if (!Object.hasOwn(curve.workers, service)) {
      throw new TypeError(`MdpBroker.bindWorkers: curve.workers lists no keys for ${JSON.stringify(service)}`);
    }
    let port = this.workerPorts.get(service);
    if (port === undefined) {
      port = this.openPort(service, `${this.workerPorts.size + 1}:`);
      this.workerPorts.set(service, port);
    }
    return this.bindPort(port, endpoint);
  }

  private openPort(service: string | undefined, prefix: string): Port {
    const curve = this.curve;
    // mandatory: a full or vanished peer is an error we see, not a silent drop.
    // sendTimeout 0: never block the one thread serving everyone on one slow peer.
    const socket = new Router({
      linger: 0,
      sendTimeout: 0,
      mandatory: true,
      maxMessageSize: this.maxMessageSize,
      ...(curve === undefined
        ? {}
        : {
            context: this.context,
            curveServer: true,
            curveSecretKey: curve.secretKey,
            zapDomain: service === undefined ? CLIENT_DOMAIN : workerDomain(service),
            // Without a ZAP handler libzmq would admit every key: fail closed instead.
            zapEnforceDomain: true,
          }),
    });
    const sender = new RouterSender<Ref>(socket, this.maxPeerBacklog, 4 * this.maxPeerBacklog, {
      unroutable: (m) => this.onUnroutable(m),
      overflow: (m) => this.onOverflow(m),
      failed: (m, err) => this.onSendFailed(m, err),
    });
    // A peer's TCP connection closing is the fastest sign that a worker died: probe
    // the workers at once, and a send to the dead one fails with EHOSTUNREACH.
    socket.events.on("disconnect", this.onDisconnectEvent);
    if (curve !== undefined) {
      socket.events.on("handshake:error:protocol", this.onHandshakeFailed);
      socket.events.on("handshake:error:other", this.onHandshakeFailed);
    }
    return { socket, sender, service, prefix, loop: undefined };
  }

  private async bindPort(port: Port, endpoint: string): Promise<string> {
    if (this.closed) throw new Error("MdpBroker: closed");
    if (this.zap !== undefined) {
      this.zapStarted ??= this.zap.start();
      await this.zapStarted;
    }
    await port.socket.bind(endpoint);
    const resolved = port.socket.lastEndpoint ?? endpoint;
    port.loop ??= readLoop(port.socket, (msg) => this.onMessage(port, msg), this.logger, "mdp broker");
    if (this.timer === undefined) {
      // Queue ages are swept more often than heartbeats when requestTtl is short.
      const tick = Math.max(5, Math.min(this.heartbeatInterval, this.requestTtl / 4));
      this.nextHeartbeatAt = Date.now() + this.heartbeatInterval;
      this.timer = setInterval(this.tick, tick);
    }
    this.logger.info(
      {
        endpoint: resolved,
        ...(port.service === undefined ? {} : { workersOf: port.service }),
        curve: this.curve !== undefined,
      },
      "mdp broker: bound",
    );
    return resolved;
  }

  private ports(): Port[] {
    return [this.clientPort, ...this.workerPorts.values()];
  }

  stats(): MdpBrokerStats {
    const services: MdpBrokerStats["services"] = {};
    for (const s of this.services.values()) {
      services[s.name] = { workers: s.workers.size, idle: s.idle.length, queued: s.queued };
    }
    const { wrongEndpoint, handshakeFailures, handshakesCutShort, ...c } = this.counters;
    let backlog = 0;
    let deferred = 0;
    for (const port of this.ports()) {
      backlog += port.sender.waiting;
      deferred += port.sender.deferred;
    }
    const zap = this.zap?.stats();
    return {
      services,
      dropped: c.malformed + c.badProtocol + c.protocolErrors + c.unknownWorker + wrongEndpoint,
      ...c,
      backlog,
      deferred,
      held: this.heldTotal,
      sessions: this.sessions.size,
      curve: {
        enabled: this.curve !== undefined,
        admitted: zap?.admitted ?? 0,
        refused: zap?.refused ?? 0,
        handshakeFailures,
        handshakesCutShort,
        wrongEndpoint,
      },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    for (const t of this.probeTimers) if (t !== undefined) clearTimeout(t);
    const ports = this.ports();
    for (const port of ports) {
      port.sender.clear();
      port.socket.events.off("disconnect", this.onDisconnectEvent);
      port.socket.close();
    }
    await Promise.all(ports.map((port) => port.loop));
    await this.zap?.close();
  }

  private onMessage(port: Port, msg: Buffer[]): void {
    // [sender, "", protocol, ...]
    const proto = msg[2];
    if (msg.length < 3 || msg[1]?.length !== 0 || proto === undefined) {
      this.counters.malformed++;
      return;
    }
    try {
      if (frameEquals(proto, CLIENT_FRAME)) {
        // A worker endpoint admits worker keys: requests from them are not for it to carry.
        if (port.service === undefined) this.onClient(msg);
        else this.wrongEndpoint(port, msg[0] as Buffer, "client request on a worker endpoint", false);
      } else if (frameEquals(proto, WORKER_FRAME)) {
        // Under CURVE the client endpoint admits client keys, which serve nothing.
        if (port.service === undefined && this.curve !== undefined) {
          this.wrongEndpoint(port, msg[0] as Buffer, "worker command on the client endpoint", true);
        } else {
          this.onWorker(port, msg);
        }
      } else this.counters.badProtocol++;
    } catch (err) {
      // Defensive: no input may take the broker down.
      this.counters.malformed++;
      this.logger.error({ err }, "mdp broker: message handling failed");
    }
  }

  // ---- clients -------------------------------------------------------------

  private onClient(msg: Buffer[]): void {
    // [client, "", "MDPC01", service, requestId, ...body]
    const client = msg[0] as Buffer;
    const serviceFrame = msg[3];
    // Every client message is answered, even one we cannot use: silence would cost the caller its whole timeout.
    if (serviceFrame === undefined || msg.length < 5) {
      this.counters.malformed++;
      this.refuse(client, serviceFrame ?? EMPTY_FRAME, EMPTY_FRAME, "request has no body");
      return;
    }
    const body = msg[4] as Buffer;
    if (msg.length > MAX_CLIENT_FRAMES) {
      this.counters.malformed++;
      this.refuse(client, serviceFrame, body, `more than ${MAX_CLIENT_FRAMES - 4} body frames`);
      return;
    }
    if (serviceFrame.length === 0 || serviceFrame.length > 255) {
      this.counters.malformed++;
      this.refuse(client, serviceFrame, body, "service name must be 1..255 bytes");
      return;
    }
    // Our body convention is [requestId, payload]; a plain RFC 7 body of one frame has no id to join by.
    const withId = msg.length >= 6;
    if (withId && body.length > MAX_REQUEST_ID) {
      this.counters.malformed++;
      this.refuse(client, serviceFrame, EMPTY_FRAME, `requestId must be at most ${MAX_REQUEST_ID} bytes`);
      return;
    }
    const name = serviceFrame.toString();
    if (name.startsWith(MMI_PREFIX)) {
      this.onMmi(client, name, msg);
      return;
    }
    this.counters.requests++;
    const identityKey = client.toString("latin1");
    const session = this.sessions.of(identityKey);
    const scope = session !== undefined ? session.scope : `i${identityKey}`;
    const key = withId ? `${scope}\0${body.toString("latin1")}` : undefined;
    if (key !== undefined) {
      const running = this.jobs.get(key);
      if (running !== undefined) {
        // A retry (maybe from the client's new socket): one execution, and the answer goes where it asked last.
        running.client = client;
        this.counters.joined++;
        return;
      }
    }
    let service = this.services.get(name);
    const waits = service === undefined || service.idle.length === 0;
    if (waits) {
      const refusal = this.queueRefusal(name, service, scope);
      if (refusal !== undefined) {
        this.counters.queueFull++;
        this.throttledWarn("queue full", { service: name, why: refusal });
        this.sendToClient(
          [
            client,
            EMPTY_FRAME,
            CLIENT_FRAME,
            serviceFrame,
            body,
            ERROR_MARKER_FRAME,
            BrokerErrorCode.QUEUE_FULL,
            refusal,
          ],
          session,
        );
        return;
      }
    }
    service ??= this.serviceFor(name, serviceFrame);
    const job: Job = {
      key,
      scope,
      client,
      session,
      msg,
      at: Date.now(),
      service,
      state: JobState.QUEUED,
      worker: null,
      origin: null,
    };
    if (key !== undefined) this.jobs.set(key, job);
    if (!waits && service.queued === 0) {
      // The common case: a worker is idle and nobody waits ahead. No queue bookkeeping.
      this.run(job, service.idle.shift() as WorkerRec);
      return;
    }
    this.enqueue(job, false);
    this.dispatch(service);
  }

  /** Why a request that would have to wait may not, if it may not. */
  private queueRefusal(name: string, service: Service | undefined, scope: string): string | undefined {
    const queued = service?.queued ?? 0;
    if (queued >= this.maxQueue) return `queue of ${name} is full (${this.maxQueue})`;
    if ((this.queuedByClient.get(scope) ?? 0) >= this.maxQueuePerClient) {
      return `this client already has ${this.maxQueuePerClient} requests waiting`;
    }
    if ((service === undefined || service.workers.size === 0) && this.queuedUnserved >= this.maxQueueUnserved) {
      return `${this.maxQueueUnserved} requests already wait for services no worker serves`;
    }
    if (this.queuedTotal >= this.maxQueueTotal) return `broker queues are full (${this.maxQueueTotal} requests)`;
    return undefined;
  }

  private onMmi(client: Buffer, name: string, msg: Buffer[]): void {
    // Ours: body [requestId, argument] -> [requestId, code]. Plain RFC 8: body [argument] -> [code].
    this.counters.mmi++;
    const withId = msg.length >= 6;
    const argument = (withId ? msg[5] : msg[4]) as Buffer;
    let code: string = MmiCode.NOT_IMPLEMENTED;
    if (name === MMI_SERVICE) {
      const service = this.services.get(argument.toString());
      code = service !== undefined && service.workers.size > 0 ? MmiCode.OK : MmiCode.NOT_FOUND;
    } else if (name === MMI_SESSION) {
      code = this.declareSession(client, argument);
    } else if (name === MMI_CANCEL) {
      code = this.cancel(client, argument);
    }
    const frames: Frames = withId
      ? [client, EMPTY_FRAME, CLIENT_FRAME, msg[3] as Buffer, msg[4] as Buffer, code]
      : [client, EMPTY_FRAME, CLIENT_FRAME, msg[3] as Buffer, code];
    this.sender.send(frames, Outbound.CLIENT, undefined);
  }

  private declareSession(client: Buffer, token: Buffer): string {
    if (token.length < SESSION_TOKEN_MIN || token.length > SESSION_TOKEN_MAX) return MmiCode.BAD_REQUEST;
    const session = this.sessions.declare(client, client.toString("latin1"), token.toString("latin1"));
    // Answers that found the old socket gone were kept for this moment.
    if (this.holding.delete(session)) {
      for (let held = session.held.shift(); held !== undefined; held = session.held.shift()) {
        this.heldTotal--;
        held.frames[0] = client;
        this.sender.send(held.frames, Outbound.CLIENT, session);
      }
    }
    return MmiCode.OK;
  }

  private cancel(client: Buffer, requestId: Buffer): string {
    const identityKey = client.toString("latin1");
    const session = this.sessions.of(identityKey);
    const scope = session !== undefined ? session.scope : `i${identityKey}`;
    const job = this.jobs.get(`${scope}\0${requestId.toString("latin1")}`);
    if (job === undefined) return MmiCode.NOT_FOUND;
    if (job.state !== JobState.QUEUED) return MmiCode.CONFLICT;
    // Left in the queue as a tombstone: dispatch and expiry skip it.
    this.dequeued(job);
    this.finish(job);
    this.counters.cancelled++;
    return MmiCode.OK;
  }

  /** An error answer to a message that never became a job. */
  private refuse(client: Buffer, serviceFrame: Buffer, requestId: Buffer, message: string): void {
    this.sender.send(
      [
        client,
        EMPTY_FRAME,
        CLIENT_FRAME,
        serviceFrame,
        requestId,
        ERROR_MARKER_FRAME,
        BrokerErrorCode.MALFORMED,
        message,
      ],
      Outbound.CLIENT,
      undefined,
    );
  }

  /** Where a job's answer goes: the socket its session declared last, or the socket that asked last. */
  private answer(job: Job, frames: Frames): void {
    frames[0] = job.session?.identity ?? job.client;
    this.sendToClient(frames, job.session);
  }

  private answerError(job: Job, code: BrokerErrorCode, message: string): void {
    this.answer(job, [
      EMPTY_FRAME,
      EMPTY_FRAME,
      CLIENT_FRAME,
      job.service.frame,
      job.msg[4] as Buffer,
      ERROR_MARKER_FRAME,
      code,
      message,
    ]);
  }

  private sendToClient(frames: Frames, session: Session | undefined): void {
    this.sender.send(frames, Outbound.CLIENT, session);
  }

  private serviceFor(name: string, frame: Buffer): Service {
    let service = this.services.get(name);
    if (service === undefined) {
      service = { name, frame: Buffer.from(frame), queue: new Fifo<Job>(), queued: 0, idle: [], workers: new Set() };
      this.services.set(name, service);
    }
    return service;
  }

  // ---- queue accounting ------------------------------------------------------

  private enqueue(job: Job, front: boolean): void {
    const service = job.service;
    job.state = JobState.QUEUED;
    if (front) service.queue.unshift(job);
    else service.queue.push(job);
    service.queued++;
    this.queuedTotal++;
    this.queuedByClient.set(job.scope, (this.queuedByClient.get(job.scope) ?? 0) + 1);
    if (service.workers.size === 0) this.queuedUnserved++;
  }

  /** Bookkeeping for a job leaving the waiting state (dispatched, expired or cancelled). */
  private dequeued(job: Job): void {
    const service = job.service;
    service.queued--;
    this.queuedTotal--;
    const left = (this.queuedByClient.get(job.scope) ?? 1) - 1;
    if (left > 0) this.queuedByClient.set(job.scope, left);
    else this.queuedByClient.delete(job.scope);
    if (service.workers.size === 0) this.queuedUnserved--;
  }

  private finish(job: Job): void {
    job.state = JobState.DONE;
    if (job.key !== undefined && this.jobs.get(job.key) === job) this.jobs.delete(job.key);
  }

  /** The first job still waiting and young enough; older ones are answered EXPIRED on the way. */
  private nextQueued(service: Service, now: number): Job | undefined {
    for (let job = service.queue.peek(); job !== undefined; job = service.queue.peek()) {
      if (job.state !== JobState.QUEUED) {
        service.queue.shift(); // a cancelled tombstone
        continue;
      }
      if (now - job.at <= this.requestTtl) return job;
      service.queue.shift();
      this.dequeued(job);
      this.finish(job);
      this.counters.expired++;
      this.answerError(job, BrokerErrorCode.EXPIRED, `no ${service.name} worker within ${this.requestTtl} ms`);
    }
    return undefined;
  }

  private dispatch(service: Service): void {
    if (service.idle.length === 0) return;
    const now = Date.now();
    while (service.idle.length > 0) {
      // Checked here too, not only on the sweep: a request past its age is never dispatched.
      const job = this.nextQueued(service, now);
      if (job === undefined) return;
      service.queue.shift();
      this.dequeued(job);
      this.run(job, service.idle.shift() as WorkerRec);
    }
  }

  /** Hands a job to an idle worker. */
  private run(job: Job, worker: WorkerRec): void {
    job.state = JobState.RUNNING;
    job.worker = worker;
    job.origin = job.session?.alias ?? job.client;
    worker.job = job;
    // [worker, "", "MDPW01", 0x02, client, "", ...body]
    const msg = job.msg;
    const frames: Frames = [worker.identity, EMPTY_FRAME, WORKER_FRAME, REQUEST_FRAME, job.origin, EMPTY_FRAME];
    for (let i = 4; i < msg.length; i++) frames.push(msg[i] as Buffer);
    worker.port.sender.send(frames, Outbound.DISPATCH, job);
  }

  // ---- workers -------------------------------------------------------------

  private onWorker(port: Port, msg: Buffer[]): void {
    // [worker, "", "MDPW01", command, ...]
    const command = msg[3];
    if (command === undefined || command.length !== 1) {
      this.counters.malformed++;
      return;
    }
    const identity = msg[0] as Buffer;
    const key = port.prefix + identity.toString("latin1");
    const worker = this.workers.get(key);
    if (worker !== undefined) worker.lastHeard = Date.now();
    switch (command[0]) {
      case MdpCommand.READY:
        this.onReady(port, identity, key, worker, msg);
        return;
      case MdpCommand.REPLY:
        this.onReply(port, identity, worker, msg);
        return;
      case MdpCommand.HEARTBEAT:
        if (worker === undefined) this.rejectUnknown(port, identity);
        else this.counters.heartbeats++;
        return;
      case MdpCommand.DISCONNECT:
        if (worker === undefined) {
          this.counters.unknownWorker++;
          return;
        }
        if (worker.job === null) this.counters.idleDisconnects++;
        this.removeWorker(worker, false, "worker disconnected");
        return;
      default:
        // REQUEST from a worker, or an unknown command: out of order per RFC 7.
        if (worker === undefined) this.rejectUnknown(port, identity);
        else this.protocolError(worker, `command 0x${command[0]?.toString(16)} not allowed from a worker`);
    }
  }

  private onReady(port: Port, identity: Buffer, key: string, worker: WorkerRec | undefined, msg: Buffer[]): void {
    if (worker !== undefined) {
      this.protocolError(worker, "READY from a registered worker");
      return;
    }
    const serviceFrame = msg[4];
    if (msg.length !== 5 || serviceFrame === undefined || serviceFrame.length === 0 || serviceFrame.length > 255) {
      this.counters.malformed++;
      this.sendToWorker(port, identity, DISCONNECT_FRAME, undefined);
      return;
    }
    const name = serviceFrame.toString();
    if (name.startsWith(MMI_PREFIX)) {
      this.counters.protocolErrors++;
      this.sendToWorker(port, identity, DISCONNECT_FRAME, undefined);
      return;
    }
    if (port.service !== undefined && port.service !== name) {
      // The keys admitted here are listed for port.service only: the heart of the per-service guarantee.
      this.wrongEndpoint(port, identity, `READY for ${name.slice(0, 100)} on the endpoint of ${port.service}`, true);
      return;
    }
    const service = this.serviceFor(name, serviceFrame);
    const rec: WorkerRec = { identity, key, port, service, lastHeard: Date.now(), job: null };
    // Its queue stops counting against the bound for services nobody serves.
    if (service.workers.size === 0) this.queuedUnserved -= service.queued;
    this.workers.set(key, rec);
    service.workers.add(rec);
    service.idle.push(rec);
    this.counters.workersRegistered++;
    this.logger.debug({ service: name, workers: service.workers.size }, "mdp broker: worker ready");
    this.dispatch(service);
  }

  private onReply(port: Port, identity: Buffer, worker: WorkerRec | undefined, msg: Buffer[]): void {
    // [worker, "", "MDPW01", 0x03, client, "", ...body]
    if (worker === undefined) {
      this.rejectUnknown(port, identity);
      return;
    }
    if (msg.length < 7 || msg[5]?.length !== 0) {
      this.counters.malformed++;
      return;
    }
    const job = worker.job;
    if (job === null) {
      this.counters.replyWithoutRequest++;
      this.protocolError(worker, "REPLY without a request");
      return;
    }
    if (!(job.origin as Buffer).equals(msg[4] as Buffer)) {
      this.protocolError(worker, "REPLY addressed to another client");
      return;
    }
    this.counters.replies++;
    const service = worker.service;
    worker.job = null;
    job.worker = null;
    this.finish(job);
    // The worker runs one request at a time, so a reply that lost its requestId is still
    // known to be this job's: tell the client now rather than let it time out.
    const requestId = job.msg.length >= 6 ? (job.msg[4] as Buffer) : undefined;
    if (requestId !== undefined && (msg.length < 8 || !requestId.equals(msg[6] as Buffer))) {
      this.counters.badReplies++;
      this.throttledWarn("bad reply", { service: service.name, requestId: requestId.toString() });
      this.answerError(job, BrokerErrorCode.BAD_REPLY, `the ${service.name} worker replied without the requestId`);
    } else {
      // [client, "", "MDPC01", service, ...body]
      const frames: Frames = [EMPTY_FRAME, EMPTY_FRAME, CLIENT_FRAME, service.frame];
      for (let i = 6; i < msg.length; i++) frames.push(msg[i] as Buffer);
      this.answer(job, frames);
    }
    service.idle.push(worker);
    this.dispatch(service);
  }

  private rejectUnknown(port: Port, identity: Buffer): void {
    // RFC 7: a command from a worker that is not registered gets DISCONNECT (it will re-READY).
    this.counters.unknownWorker++;
    this.sendToWorker(port, identity, DISCONNECT_FRAME, undefined);
  }

  /** A message for another endpoint's role: counted, logged (throttled), and a worker told DISCONNECT. */
  private wrongEndpoint(port: Port, identity: Buffer, why: string, disconnect: boolean): void {
    this.counters.wrongEndpoint++;
    this.throttledWarn("message for another endpoint refused", { why, endpoint: port.socket.lastEndpoint });
    if (disconnect) this.sendToWorker(port, identity, DISCONNECT_FRAME, undefined);
  }

  private protocolError(worker: WorkerRec, why: string): void {
    this.counters.protocolErrors++;
    this.logger.warn({ service: worker.service.name, why }, "mdp broker: worker protocol error, disconnecting it");
    this.removeWorker(worker, true, why);
  }

  private sendToWorker(port: Port, identity: Buffer, command: Buffer, worker: WorkerRec | undefined): void {
    port.sender.send([identity, EMPTY_FRAME, WORKER_FRAME, command], Outbound.WORKER, worker);
  }

  /**
   * A busy worker that goes away costs its client a WORKER_LOST at once, never silence;
   * unless its REQUEST never left the broker, in which case the job goes back to the
   * front of the queue: it certainly did not run.
   */
  private removeWorker(worker: WorkerRec, disconnect: boolean, why: string): void {
    if (this.workers.get(worker.key) !== worker) return;
    this.workers.delete(worker.key);
    const service = worker.service;
    service.workers.delete(worker);
    const i = service.idle.indexOf(worker);
    if (i >= 0) service.idle.splice(i, 1);
    const job = worker.job;
    worker.job = null;
    const undelivered = worker.port.sender.discard(worker.identity);
    if (service.workers.size === 0) this.queuedUnserved += service.queued;
    if (disconnect) this.sendToWorker(worker.port, worker.identity, DISCONNECT_FRAME, undefined);
    if (job === null) return;
    job.worker = null;
    if (undelivered.some((m) => m.kind === Outbound.DISPATCH && m.ref === job)) {
      this.requeue(job);
      return;
    }
    this.finish(job);
    this.counters.workersLost++;
    this.logger.warn({ service: service.name, why }, "mdp broker: worker lost with a request");
    this.answerError(job, BrokerErrorCode.WORKER_LOST, `worker for ${service.name} lost: ${why}`);
  }

  private requeue(job: Job): void {
    job.origin = null;
    this.enqueue(job, true);
    this.dispatch(job.service);
  }

  // ---- failed sends ----------------------------------------------------------

  private onUnroutable(m: OutboundMessage<Ref>): void {
    switch (m.kind) {
      case Outbound.CLIENT: {
        const session = m.ref as Session | undefined;
        if (session === undefined) {
          this.lose(m, "the client's socket is gone");
          return;
        }
        if (!session.identity.equals(m.frames[0] as Buffer)) {
          // The client reconnected in the meantime: its new socket gets it.
          m.frames[0] = session.identity;
          this.sender.send(m.frames, Outbound.CLIENT, session);
          return;
        }
        if (session.held.length >= this.maxPeerBacklog) {
          this.lose(m, "too many answers held for a client whose socket is gone");
          return;
        }
        session.held.push({ frames: m.frames, at: Date.now() });
        this.heldTotal++;
        this.holding.add(session);
        return;
      }
      case Outbound.DISPATCH: {
        // The REQUEST never left: the worker is gone and the job certainly did not run there.
        const job = m.ref as Job;
        const worker = job.worker;
        if (worker === null || worker.job !== job) return;
        worker.job = null;
        job.worker = null;
        this.counters.workersGone++;
        this.removeWorker(worker, false, "worker socket gone");
        this.requeue(job);
        return;
      }
      default: {
        const worker = m.ref as WorkerRec | undefined;
        if (worker === undefined || this.workers.get(worker.key) !== worker) return;
        this.counters.workersGone++;
        this.removeWorker(worker, false, "worker socket gone");
      }
    }
  }

  private onOverflow(m: OutboundMessage<Ref>): void {
    if (m.kind === Outbound.CLIENT) {
      this.lose(m, "the client is not reading its answers (backlog full)");
      return;
    }
    // A worker that lets thousands of messages pile up is not reading: treat it as gone.
    const worker = m.kind === Outbound.DISPATCH ? (m.ref as Job).worker : (m.ref as WorkerRec | undefined);
    if (worker !== null && worker !== undefined) {
      this.counters.workersGone++;
      if (m.kind === Outbound.DISPATCH && worker.job === m.ref) {
        const job = m.ref as Job;
        worker.job = null;
        job.worker = null;
        this.removeWorker(worker, true, "worker not reading");
        this.requeue(job);
      } else {
        this.removeWorker(worker, true, "worker not reading");
      }
    }
  }

  private onSendFailed(m: OutboundMessage<Ref>, err: unknown): void {
    if (this.closed) return;
    this.logger.error({ err, kind: m.kind }, "mdp broker: send failed");
    if (m.kind === Outbound.CLIENT) this.counters.undelivered++;
  }

  private lose(m: OutboundMessage<Ref>, why: string): void {
    this.counters.undelivered++;
    const requestId = m.frames.length > 4 ? String(m.frames[4]) : undefined;
    this.throttledWarn("undelivered", { why, service: String(m.frames[3] ?? ""), requestId });
  }

  /** One warning per kind of trouble per second, with how many were folded into it. */
  private throttledWarn(what: string, detail: object): void {
    this.throttledLog("warn", what, detail);
  }

  private throttledLog(level: "warn" | "debug", what: string, detail: object): void {
    const now = Date.now();
    const last = this.lastWarned.get(what);
    if (last !== undefined && now - last.at < 1000) {
      last.suppressed++;
      return;
    }
    this.lastWarned.set(what, { at: now, suppressed: 0 });
    this.logger[level]({ ...detail, similarSinceLastLog: last?.suppressed ?? 0 }, `mdp broker: ${what}`);
  }

  // ---- housekeeping --------------------------------------------------------

  /** A CURVE handshake that failed before the allow-list (the allow-list's refusals are the ZAP handler's count). */
  private readonly onHandshakeFailed = (
    event: EventOfType<"handshake:error:protocol"> | EventOfType<"handshake:error:other">,
  ): void => {
    // A peer hanging up mid-handshake (a TCP probe, a port scan) says nothing about keys:
    // counted, and at debug only.
    if (event.error.code === "ECONNRESET" || event.error.code === "EPIPE") {
      this.counters.handshakesCutShort++;
      this.throttledLog("debug", "curve handshake cut short by the peer", {
        endpoint: event.address,
        error: event.error.code,
      });
      return;
    }
    this.counters.handshakeFailures++;
    this.throttledWarn("curve handshake failed", {
      endpoint: event.address,
      error: event.error.code,
      hint: "a peer without CURVE, with the wrong server key, or with a public key that is not its secret key's",
    });
  };

  private readonly onDisconnectEvent = (): void => {
    this.counters.disconnects++;
    PROBE_DELAYS_MS.forEach((delay, i) => {
      if (this.probeTimers[i] === undefined && !this.closed) {
        this.probeTimers[i] = setTimeout(() => {
          this.probeTimers[i] = undefined;
          this.probeWorkers();
        }, delay);
      }
    });
  };

  /** An extra HEARTBEAT to every worker: a send to one whose socket is gone fails, and it is removed. */
  private probeWorkers(): void {
    for (const worker of this.workers.values())
      this.sendToWorker(worker.port, worker.identity, HEARTBEAT_FRAME, worker);
  }

  private readonly tick = (): void => {
    const now = Date.now();
    for (const service of this.services.values()) {
      this.nextQueued(service, now);
      if (service.workers.size === 0 && service.queued === 0) this.services.delete(service.name);
    }
    this.expireHeld(now);
    if (now < this.nextHeartbeatAt) return;
    this.nextHeartbeatAt = now + this.heartbeatInterval;
    for (const worker of this.workers.values()) {
      // RFC 7 liveness for idle workers; a busy one may be a zguide-style worker that
      // is silent while its handler runs, so it gets the (much longer) busy limit.
      const limit = worker.job === null ? this.expiry : this.busyTimeout;
      if (now - worker.lastHeard > limit) {
        this.counters.workersExpired++;
        this.logger.warn({ service: worker.service.name, busy: worker.job !== null }, "mdp broker: worker expired");
        this.removeWorker(worker, true, worker.job === null ? "worker expired" : "busy worker silent too long");
      } else {
        this.sendToWorker(worker.port, worker.identity, HEARTBEAT_FRAME, worker);
      }
    }
  };

  private expireHeld(now: number): void {
    if (this.holding.size === 0) return;
    for (const session of this.holding) {
      for (
        let held = session.held.peek();
        held !== undefined && now - held.at > this.requestTtl;
        held = session.held.peek()
      ) {
        session.held.shift();
        this.heldTotal--;
        this.lose({ frames: held.frames, kind: Outbound.CLIENT, ref: session }, "the client did not come back in time");
      }
      if (session.held.length === 0) this.holding.delete(session);
    }
  }
}

function checkCurveOptions(curve: MdpBrokerCurve): MdpBrokerCurve {
  const keys = (list: readonly string[], what: string): string[] => {
    if (!Array.isArray(list)) throw new TypeError(`MdpBroker: curve.${what} must be an array of public keys`);
    return list.map((k, i) => checkCurveKey(k, `curve.${what}[${i}]`));
  };
  const workers: Record<string, string[]> = {};
  for (const [service, list] of Object.entries(curve.workers ?? {})) {
    if (service.length === 0 || Buffer.byteLength(service) > 255 || service.startsWith(MMI_PREFIX)) {
      throw new TypeError(`MdpBroker: curve.workers: ${JSON.stringify(service)} is not a service name`);
    }
    workers[service] = keys(list, `workers.${service}`);
  }
  return {
    secretKey: checkCurveKey(curve.secretKey, "curve.secretKey"),
    clients: keys(curve.clients, "clients"),
    workers,
  };
}

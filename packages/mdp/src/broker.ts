import { Router } from "zeromq";
import { Fifo } from "./fifo.js";
import { type MdpLogger, silentLogger } from "./logger.js";
import {
  BrokerErrorCode,
  CLIENT_FRAME,
  DISCONNECT_FRAME,
  EMPTY_FRAME,
  ERROR_MARKER_FRAME,
  HEARTBEAT_FRAME,
  MDP_DEFAULTS,
  MMI_PREFIX,
  MMI_SERVICE,
  MdpCommand,
  REQUEST_FRAME,
  WORKER_FRAME,
  frameEquals,
} from "./protocol.js";
import { positiveOption } from "./options.js";
import { readLoop } from "./read-loop.js";
import { type Frames, SocketWriter } from "./socket-writer.js";

export interface MdpBrokerOptions {
  heartbeatInterval?: number;
  liveness?: number;
  /** Most requests queued per service; more are answered QUEUE_FULL. */
  maxQueue?: number;
  /**
   * Most requests queued across all services (default 4 x maxQueue): any service
   * name opens a queue, so without a global bound a client could queue
   * maxQueue requests under each of endless made-up names.
   */
  maxQueueTotal?: number;
  /** Most time a request may wait for a worker (ms); older ones are answered EXPIRED. */
  requestTtl?: number;
  logger?: MdpLogger;
}

export interface MdpBrokerStats {
  services: Record<string, { workers: number; idle: number; queued: number }>;
  /** Every inbound message dropped for any reason below (their sum). */
  dropped: number;
  /** Too few frames, non-empty delimiter, bad command frame. */
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
  workersExpired: number;
  workersLost: number;
  requests: number;
  replies: number;
  expired: number;
  queueFull: number;
  mmi: number;
}

interface Job {
  readonly client: Buffer;
  /** The client's whole message; frames from index 4 on are the opaque body (requestId first). */
  readonly msg: Buffer[];
  readonly at: number;
}

interface WorkerRec {
  readonly identity: Buffer;
  readonly key: string;
  readonly service: Service;
  expiresAt: number;
  job: Job | null;
}

interface Service {
  readonly name: string;
  readonly frame: Buffer;
  readonly queue: Fifo<Job>;
  /** Idle workers, least recently used first. */
  readonly idle: WorkerRec[];
  readonly workers: Set<WorkerRec>;
}

const positive = positiveOption("MdpBroker");

/**
 * MDP/0.1 broker (RFC 7 + RFC 8 mmi.service) on one ROUTER socket. Unlike the
 * zguide brokers it tracks busy workers' liveness too, answers WORKER_LOST
 * when a busy worker dies, bounds its queues in length and age, and survives
 * any input.
 */
export class MdpBroker {
  private readonly heartbeatInterval: number;
  private readonly expiry: number;
  private readonly maxQueue: number;
  private readonly maxQueueTotal: number;
  private queuedTotal = 0;
  private readonly requestTtl: number;
  private readonly logger: MdpLogger;
  private readonly socket: Router;
  private readonly writer: SocketWriter;
  private readonly services = new Map<string, Service>();
  private readonly workers = new Map<string, WorkerRec>();
  private timer: NodeJS.Timeout | undefined;
  private nextHeartbeatAt = 0;
  private loop: Promise<void> | undefined;
  private closed = false;
  private readonly counters = {
    malformed: 0,
    badProtocol: 0,
    protocolErrors: 0,
    unknownWorker: 0,
    replyWithoutRequest: 0,
    idleDisconnects: 0,
    workersRegistered: 0,
    workersExpired: 0,
    workersLost: 0,
    requests: 0,
    replies: 0,
    expired: 0,
    queueFull: 0,
    mmi: 0,
  };

  constructor(o: MdpBrokerOptions = {}) {
    this.heartbeatInterval = positive("heartbeatInterval", o.heartbeatInterval, MDP_DEFAULTS.heartbeatInterval);
    this.expiry = this.heartbeatInterval * positive("liveness", o.liveness, MDP_DEFAULTS.liveness);
    this.maxQueue = Math.floor(positive("maxQueue", o.maxQueue, MDP_DEFAULTS.maxQueue));
    this.maxQueueTotal = Math.floor(positive("maxQueueTotal", o.maxQueueTotal, 4 * this.maxQueue));
    this.requestTtl = positive("requestTtl", o.requestTtl, MDP_DEFAULTS.requestTtl);
    this.logger = o.logger ?? silentLogger;
    // sendTimeout 0: a (non-mandatory) ROUTER never blocks, it drops at the
    // high-water mark; skipping the writability probe saves a syscall per send.
    this.socket = new Router({ linger: 0, sendTimeout: 0 });
    this.writer = new SocketWriter(this.socket, (err) => this.logger.warn({ err }, "mdp broker: send failed"));
  }

  /** Binds (more than once is fine) and returns the resolved endpoint, e.g. the port chosen for tcp://127.0.0.1:*. */
  async bind(endpoint: string): Promise<string> {
    if (this.closed) throw new Error("MdpBroker: closed");
    await this.socket.bind(endpoint);
    const resolved = this.socket.lastEndpoint ?? endpoint;
    if (this.loop === undefined) {
      this.loop = readLoop(this.socket, (msg) => this.onMessage(msg), this.logger, "mdp broker");
      // Queue ages are swept more often than heartbeats when requestTtl is short.
      const tick = Math.max(5, Math.min(this.heartbeatInterval, this.requestTtl / 4));
      this.nextHeartbeatAt = Date.now() + this.heartbeatInterval;
      this.timer = setInterval(this.tick, tick);
    }
    this.logger.info({ endpoint: resolved }, "mdp broker: bound");
    return resolved;
  }

  stats(): MdpBrokerStats {
    const services: MdpBrokerStats["services"] = {};
    for (const s of this.services.values()) {
      services[s.name] = { workers: s.workers.size, idle: s.idle.length, queued: s.queue.length };
    }
    const c = this.counters;
    return {
      services,
      dropped: c.malformed + c.badProtocol + c.protocolErrors + c.unknownWorker,
      ...c,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.writer.clear();
    this.socket.close();
    await this.loop;
  }

  private onMessage(msg: Buffer[]): void {
    // [sender, "", protocol, ...]
    const proto = msg[2];
    if (msg.length < 3 || msg[1]?.length !== 0 || proto === undefined) {
      this.counters.malformed++;
      return;
    }
    try {
      if (frameEquals(proto, CLIENT_FRAME)) this.onClient(msg);
      else if (frameEquals(proto, WORKER_FRAME)) this.onWorker(msg);
      else this.counters.badProtocol++;
    } catch (err) {
      // Defensive: no input may take the broker down.
      this.counters.malformed++;
      this.logger.error({ err }, "mdp broker: message handling failed");
    }
  }

  // ---- clients -------------------------------------------------------------

  private onClient(msg: Buffer[]): void {
    // [client, "", "MDPC01", service, requestId, ...body]
    if (msg.length < 5) {
      this.counters.malformed++;
      return;
    }
    const client = msg[0] as Buffer;
    const serviceFrame = msg[3] as Buffer;
    if (serviceFrame.length === 0 || serviceFrame.length > 255) {
      this.counters.malformed++;
      this.sendError(
        client,
        serviceFrame,
        msg[4] as Buffer,
        BrokerErrorCode.MALFORMED,
        "service name must be 1..255 bytes",
      );
      return;
    }
    const name = serviceFrame.toString();
    if (name.startsWith(MMI_PREFIX)) {
      this.onMmi(client, name, msg);
      return;
    }
    this.counters.requests++;
    const service = this.serviceFor(name, serviceFrame);
    if (service.queue.length >= this.maxQueue || this.queuedTotal >= this.maxQueueTotal) {
      this.counters.queueFull++;
      const why =
        service.queue.length >= this.maxQueue
          ? `queue of ${name} is full (${this.maxQueue})`
          : `broker queues are full (${this.maxQueueTotal} requests across services)`;
      this.sendError(client, service.frame, msg[4] as Buffer, BrokerErrorCode.QUEUE_FULL, why);
      if (service.workers.size === 0 && service.queue.length === 0) this.services.delete(name);
      return;
    }
    service.queue.push({ client, msg, at: Date.now() });
    this.queuedTotal++;
    this.dispatch(service);
  }

  private onMmi(client: Buffer, name: string, msg: Buffer[]): void {
    // Ours: body [requestId, serviceName] -> [requestId, code]. Plain RFC 8: body [serviceName] -> [code].
    this.counters.mmi++;
    const withId = msg.length >= 6;
    const asked = (withId ? msg[5] : msg[4]) as Buffer;
    let code = "501";
    if (name === MMI_SERVICE) {
      const service = this.services.get(asked.toString());
      code = service !== undefined && service.workers.size > 0 ? "200" : "404";
    }
    const frames: Frames = withId
      ? [client, EMPTY_FRAME, CLIENT_FRAME, msg[3] as Buffer, msg[4] as Buffer, code]
      : [client, EMPTY_FRAME, CLIENT_FRAME, msg[3] as Buffer, code];
    this.writer.send(frames);
  }

  private sendError(
    client: Buffer,
    serviceFrame: Buffer,
    requestId: Buffer,
    code: BrokerErrorCode,
    message: string,
  ): void {
    this.writer.send([client, EMPTY_FRAME, CLIENT_FRAME, serviceFrame, requestId, ERROR_MARKER_FRAME, code, message]);
  }

  private serviceFor(name: string, frame?: Buffer): Service {
    let service = this.services.get(name);
    if (service === undefined) {
      service = {
        name,
        frame: frame !== undefined ? Buffer.from(frame) : Buffer.from(name),
        queue: new Fifo<Job>(),
        idle: [],
        workers: new Set(),
      };
      this.services.set(name, service);
    }
    return service;
  }

  private dispatch(service: Service): void {
    while (service.idle.length > 0 && service.queue.length > 0) {
      const worker = service.idle.shift() as WorkerRec;
      const job = service.queue.shift() as Job;
      this.queuedTotal--;
      worker.job = job;
      // [worker, "", "MDPW01", 0x02, client, "", ...body]
      const msg = job.msg;
      const frames: Frames = [worker.identity, EMPTY_FRAME, WORKER_FRAME, REQUEST_FRAME, job.client, EMPTY_FRAME];
      for (let i = 4; i < msg.length; i++) frames.push(msg[i] as Buffer);
      this.writer.send(frames);
    }
  }

  // ---- workers -------------------------------------------------------------

  private onWorker(msg: Buffer[]): void {
    // [worker, "", "MDPW01", command, ...]
    const command = msg[3];
    if (command === undefined || command.length !== 1) {
      this.counters.malformed++;
      return;
    }
    const identity = msg[0] as Buffer;
    const key = identity.toString("latin1");
    const worker = this.workers.get(key);
    if (worker !== undefined) worker.expiresAt = Date.now() + this.expiry;
    switch (command[0]) {
      case MdpCommand.READY:
        this.onReady(identity, key, worker, msg);
        return;
      case MdpCommand.REPLY:
        this.onReply(identity, worker, msg);
        return;
      case MdpCommand.HEARTBEAT:
        if (worker === undefined) this.rejectUnknown(identity);
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
        if (worker === undefined) this.rejectUnknown(identity);
        else this.protocolError(worker, `command 0x${command[0]?.toString(16)} not allowed from a worker`);
    }
  }

  private onReady(identity: Buffer, key: string, worker: WorkerRec | undefined, msg: Buffer[]): void {
    if (worker !== undefined) {
      this.protocolError(worker, "READY from a registered worker");
      return;
    }
    const serviceFrame = msg[4];
    if (msg.length !== 5 || serviceFrame === undefined || serviceFrame.length === 0 || serviceFrame.length > 255) {
      this.counters.malformed++;
      this.sendToWorker(identity, DISCONNECT_FRAME);
      return;
    }
    const name = serviceFrame.toString();
    if (name.startsWith(MMI_PREFIX)) {
      this.counters.protocolErrors++;
      this.sendToWorker(identity, DISCONNECT_FRAME);
      return;
    }
    const service = this.serviceFor(name, serviceFrame);
    const rec: WorkerRec = { identity, key, service, expiresAt: Date.now() + this.expiry, job: null };
    this.workers.set(key, rec);
    service.workers.add(rec);
    service.idle.push(rec);
    this.counters.workersRegistered++;
    this.logger.debug({ service: name, workers: service.workers.size }, "mdp broker: worker ready");
    this.dispatch(service);
  }

  private onReply(identity: Buffer, worker: WorkerRec | undefined, msg: Buffer[]): void {
    // [worker, "", "MDPW01", 0x03, client, "", ...body]
    if (worker === undefined) {
      this.rejectUnknown(identity);
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
    if (!job.client.equals(msg[4] as Buffer)) {
      this.protocolError(worker, "REPLY addressed to another client");
      return;
    }
    this.counters.replies++;
    const service = worker.service;
    // [client, "", "MDPC01", service, ...body]
    const frames: Frames = [job.client, EMPTY_FRAME, CLIENT_FRAME, service.frame];
    for (let i = 6; i < msg.length; i++) frames.push(msg[i] as Buffer);
    this.writer.send(frames);
    worker.job = null;
    service.idle.push(worker);
    this.dispatch(service);
  }

  private rejectUnknown(identity: Buffer): void {
    // RFC 7: a command from a worker that is not registered gets DISCONNECT (it will re-READY).
    this.counters.unknownWorker++;
    this.sendToWorker(identity, DISCONNECT_FRAME);
  }

  private protocolError(worker: WorkerRec, why: string): void {
    this.counters.protocolErrors++;
    this.logger.warn({ service: worker.service.name, why }, "mdp broker: worker protocol error, disconnecting it");
    this.removeWorker(worker, true, why);
  }

  private sendToWorker(identity: Buffer, command: Buffer): void {
    this.writer.send([identity, EMPTY_FRAME, WORKER_FRAME, command]);
  }

  /** A busy worker that goes away costs its client a WORKER_LOST at once, never silence. */
  private removeWorker(worker: WorkerRec, disconnect: boolean, why: string): void {
    if (this.workers.get(worker.key) !== worker) return;
    this.workers.delete(worker.key);
    const service = worker.service;
    service.workers.delete(worker);
    const i = service.idle.indexOf(worker);
    if (i >= 0) service.idle.splice(i, 1);
    if (disconnect) this.sendToWorker(worker.identity, DISCONNECT_FRAME);
    const job = worker.job;
    if (job !== null) {
      worker.job = null;
      this.counters.workersLost++;
      this.sendError(
        job.client,
        service.frame,
        job.msg[4] as Buffer,
        BrokerErrorCode.WORKER_LOST,
        `worker for ${service.name} lost: ${why}`,
      );
    }
  }

  // ---- housekeeping --------------------------------------------------------

  private readonly tick = (): void => {
    const now = Date.now();
    for (const service of this.services.values()) {
      this.expireQueued(service, now);
      if (service.workers.size === 0 && service.queue.length === 0) this.services.delete(service.name);
    }
    if (now < this.nextHeartbeatAt) return;
    this.nextHeartbeatAt = now + this.heartbeatInterval;
    for (const worker of this.workers.values()) {
      if (now > worker.expiresAt) {
        this.counters.workersExpired++;
        this.logger.warn({ service: worker.service.name, busy: worker.job !== null }, "mdp broker: worker expired");
        this.removeWorker(worker, true, "worker expired");
      } else {
        this.sendToWorker(worker.identity, HEARTBEAT_FRAME);
      }
    }
  };

  private expireQueued(service: Service, now: number): void {
    for (
      let job = service.queue.peek();
      job !== undefined && now - job.at > this.requestTtl;
      job = service.queue.peek()
    ) {
      service.queue.shift();
      this.queuedTotal--;
      this.counters.expired++;
      this.sendError(
        job.client,
        service.frame,
        job.msg[4] as Buffer,
        BrokerErrorCode.EXPIRED,
        `no ${service.name} worker within ${this.requestTtl} ms`,
      );
    }
  }
}

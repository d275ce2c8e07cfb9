/**
 * MDP/0.1 wire constants (ZeroMQ RFC 7 + RFC 8) and the MDPERR extension.
 * Frames are preallocated once: every message on the hot path reuses them.
 */

export const MDP_CLIENT = "MDPC01";
export const MDP_WORKER = "MDPW01";
/** Marker frame of a broker-originated error reply (our extension, see README). */
export const MDP_ERROR_MARKER = "MDPERR";
export const MMI_SERVICE = "mmi.service";
/**
 * Our RFC 8 extensions (see README, "Delivery"): a conforming broker answers "501" to
 * both, so a client learns from the first answer whether it may rely on them.
 * mmi.session [id, token]: requests from this socket belong to the client holding
 *   `token` (a secret never forwarded to workers); a retry from a reconnected socket
 *   joins the request instead of queueing a copy, and answers follow the newest socket.
 * mmi.cancel [id, requestId]: withdraw a request still waiting in the queue.
 */
export const MMI_SESSION = "mmi.session";
export const MMI_CANCEL = "mmi.cancel";
export const MMI_PREFIX = "mmi.";

/** Answers of mmi.* services (RFC 8 uses HTTP-like codes). */
export const MmiCode = {
  OK: "200",
  /** mmi.session: the token is not 16..255 bytes. */
  BAD_REQUEST: "400",
  /** mmi.service: no live worker; mmi.cancel: no such request waiting or running. */
  NOT_FOUND: "404",
  /** mmi.cancel: too late, a worker holds the request. */
  CONFLICT: "409",
  NOT_IMPLEMENTED: "501",
} as const;
export type MmiCode = (typeof MmiCode)[keyof typeof MmiCode];

export const MdpCommand = {
  READY: 0x01,
  REQUEST: 0x02,
  REPLY: 0x03,
  HEARTBEAT: 0x04,
  DISCONNECT: 0x05,
} as const;
export type MdpCommand = (typeof MdpCommand)[keyof typeof MdpCommand];

/** Error codes a broker may put in an MDPERR reply. */
export const BrokerErrorCode = {
  WORKER_LOST: "WORKER_LOST",
  QUEUE_FULL: "QUEUE_FULL",
  EXPIRED: "EXPIRED",
  MALFORMED: "MALFORMED",
  /** The worker answered without the requestId frame its request carried (it did run it). */
  BAD_REPLY: "BAD_REPLY",
} as const;
export type BrokerErrorCode = (typeof BrokerErrorCode)[keyof typeof BrokerErrorCode];

/** The seed's timings (ZMQ_TIMEOUT, ZMQ_RETRIES, ZMQ_HEARTBEAT_INTERVAL) and our broker bounds. */
export const MDP_DEFAULTS = {
  timeout: 5000,
  retries: 3,
  heartbeatInterval: 2500,
  liveness: 3,
  reconnect: 2500,
  maxQueue: 10_000,
  /** Most requests one client may have waiting in the broker's queues, all services together. */
  maxQueuePerClient: 5_000,
  /** Most requests waiting for services no worker has registered for, all of them together. */
  maxQueueUnserved: 1_000,
  requestTtl: 15_000,
  /**
   * How long a busy worker may stay silent before the broker declares it lost. Well
   * above the client's whole budget (timeout x retries = 15 s): zguide-style workers
   * send nothing while their handler runs, and a slow one must not be killed.
   */
  busyTimeout: 60_000,
  /** Largest frame the broker accepts (ZMQ_MAXMSGSIZE); a peer sending more is disconnected. */
  maxMessageSize: 1_048_576,
  /** Most messages the broker holds for one peer whose pipe is full or whose socket went away. */
  maxPeerBacklog: 20_000,
  replyCacheSize: 10_000,
  replyCacheTtl: 120_000,
} as const;

export const EMPTY_FRAME: Buffer = Buffer.alloc(0);
export const CLIENT_FRAME: Buffer = Buffer.from(MDP_CLIENT);
export const WORKER_FRAME: Buffer = Buffer.from(MDP_WORKER);
export const ERROR_MARKER_FRAME: Buffer = Buffer.from(MDP_ERROR_MARKER);
export const READY_FRAME: Buffer = Buffer.from([MdpCommand.READY]);
export const REQUEST_FRAME: Buffer = Buffer.from([MdpCommand.REQUEST]);
export const REPLY_FRAME: Buffer = Buffer.from([MdpCommand.REPLY]);
export const HEARTBEAT_FRAME: Buffer = Buffer.from([MdpCommand.HEARTBEAT]);
export const DISCONNECT_FRAME: Buffer = Buffer.from([MdpCommand.DISCONNECT]);

/** Byte-wise equality without allocating (frames here are a few bytes long). */
export function frameEquals(a: Buffer | undefined, b: Buffer): boolean {
  if (a === undefined || a.length !== b.length) return false;
  for (let i = 0; i < b.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * MDP/0.1 wire constants (ZeroMQ RFC 7 + RFC 8) and the MDPERR extension.
 * Frames are preallocated once: every message on the hot path reuses them.
 */

export const MDP_CLIENT = "MDPC01";
export const MDP_WORKER = "MDPW01";
/** Marker frame of a broker-originated error reply (our extension, see README). */
export const MDP_ERROR_MARKER = "MDPERR";
export const MMI_SERVICE = "mmi.service";
export const MMI_PREFIX = "mmi.";

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
  requestTtl: 15_000,
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

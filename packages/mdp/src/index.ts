export { MdpClient } from "./client.js";
export type { MdpClientOptions, MdpClientStats, MdpRequestOptions } from "./client.js";
export { MdpWorker } from "./worker.js";
export type { MdpHandler, MdpWorkerOptions, MdpWorkerStats } from "./worker.js";
export { MdpBroker } from "./broker.js";
export type { MdpBrokerOptions, MdpBrokerStats } from "./broker.js";
export { MdpError } from "./errors.js";
export type { MdpErrorCode } from "./errors.js";
export type { MdpLogger } from "./logger.js";
export {
  BrokerErrorCode,
  MDP_CLIENT,
  MDP_DEFAULTS,
  MDP_ERROR_MARKER,
  MDP_WORKER,
  MMI_SERVICE,
  MdpCommand,
} from "./protocol.js";

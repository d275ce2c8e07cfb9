export { MdpClient } from "./client.js";
export type { MdpClientOptions, MdpClientStats, MdpRequestOptions } from "./client.js";
export { MdpWorker } from "./worker.js";
export type { MdpHandler, MdpWorkerOptions, MdpWorkerStats } from "./worker.js";
export { MdpBroker } from "./broker.js";
export type { MdpBrokerCurve, MdpBrokerCurveStats, MdpBrokerOptions, MdpBrokerStats } from "./broker.js";
export type { MdpClientCurve } from "./client.js";
export {
  CurveConfigError,
  CurveKeyError,
  checkCurveKey,
  curveKeyPairOf,
  curvePublicKeyOf,
  formatCurveCertificate,
  generateCurveKeyPair,
  parseCurveKeyFile,
  readCurveKeyList,
  readCurveKeyPairVariables,
  readCurveKeyVariable,
  z85Decode,
  z85Encode,
} from "./curve-keys.js";
export type { CurveClientKeys, CurveKeyPair } from "./curve-keys.js";
export { watchCurveHandshakes } from "./curve-watch.js";
export { ZapHandler } from "./zap.js";
export type { ZapStats } from "./zap.js";
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

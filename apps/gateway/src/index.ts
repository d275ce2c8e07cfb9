export type { AppRouter } from "./root.js";
export { ConfigError, type GatewayConfig, loadConfig } from "./config.js";
export { type RunningGateway, startGateway } from "./gateway.js";
export type { ConnectionHandle, GatewayContext, RuntimeHandle } from "./context.js";
export type { AuthUser } from "./authorization.js";
export type { HealthReport } from "./health.js";

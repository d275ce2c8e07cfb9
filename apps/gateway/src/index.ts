export type { AppRouter } from "./router.js";
export { ConfigError, type GatewayConfig, loadConfig } from "./config.js";
export { type RunningGateway, startGateway } from "./gateway.js";
export type { GatewayContext } from "./context.js";
export type { AuthUser } from "./trpc.js";
export type { HealthReport } from "./health.js";

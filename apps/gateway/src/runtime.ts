import type { AuditLog } from "./audit.js";
import type { Jwt } from "./auth/jwt.js";
import type { PermissionCache } from "./auth/permissions.js";
import type { RevocationWatch } from "./auth/revocation.js";
import type { Sessions } from "./auth/sessions.js";
import type { BackendRpc } from "./backend/rpc.js";
import type { PubSubscriber } from "./backend/subscriber.js";
import type { GatewayConfig } from "./config.js";
import type { RuntimeHandle } from "./context.js";
import type { HealthReport } from "./health.js";
import type { Logger } from "./logger.js";
import type { Metrics } from "./metrics.js";
import type { Limits } from "./rate-limit.js";

/** Calls in progress and the draining flag, for graceful shutdown (gateway.ts polls inFlight). */
export interface Lifecycle {
  draining: boolean;
  inFlight: number;
}

/**
 * One gateway's services, built once by startGateway and reached by procedures
 * through their context (several gateways in one process each keep their own).
 */
export interface GatewayRuntime {
  config: GatewayConfig;
  logger: Logger;
  metrics: Metrics;
  rpc: BackendRpc;
  subscriber: PubSubscriber;
  jwt: Jwt;
  permissions: PermissionCache;
  /** This process's logins (refresh rotation, logout) and the watch that ends revoked subscriptions. */
  sessions: Sessions;
  revocations: RevocationWatch;
  audit: AuditLog;
  limits: Limits;
  health: () => Promise<HealthReport>;
  lifecycle: Lifecycle;
}

/** The runtime as the root context carries it (see RuntimeHandle). */
export function runtimeHandle(runtime: GatewayRuntime): RuntimeHandle {
  return runtime as unknown as RuntimeHandle;
}

export function runtimeOf(handle: RuntimeHandle): GatewayRuntime {
  return handle as unknown as GatewayRuntime;
}

import { TRPCError } from "@trpc/server";
import { z } from "zod";
import type { GatewayContext } from "../context.js";
import type { BackendRpc } from "../backend/rpc.js";
import type { PubSubscriber } from "../backend/subscriber.js";
import type { Jwt } from "../auth/jwt.js";
import { type PermissionCache, canSeeAccount } from "../auth/permissions.js";
import type { GatewayConfig } from "../config.js";
import type { HealthReport } from "../health.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import type { FailureLimiter } from "../rate-limit.js";
import type { AuthUser, Procedures } from "../trpc.js";

/** What the routers are built from (one set per gateway instance). */
export interface RouterDeps {
  procedures: Procedures;
  rpc: BackendRpc;
  jwt: Jwt;
  permissions: PermissionCache;
  subscriber: PubSubscriber;
  config: GatewayConfig;
  metrics: Metrics;
  logger: Logger;
  health: () => Promise<HealthReport>;
  /** Failed logins per (username, address). */
  loginLimiter: FailureLimiter;
}

export function assertAccounts(user: AuthUser, accountIds: readonly string[]): void {
  const denied = accountIds.filter((id) => !canSeeAccount(user, id));
  if (denied.length > 0) {
    throw new TRPCError({ code: "FORBIDDEN", message: `No access to account(s): ${denied.join(", ")}` });
  }
}

/** Optional lastEventId for resumable subscriptions (tRPC's ws link fills it in on reconnect). */
export const LastEventId = z
  .string()
  .max(300)
  .nullish()
  .describe("id of the last event received, to resume without gaps");

/** Stream options shared by every subscription of one gateway. */
export function streamDefaults(
  d: RouterDeps,
  ctx: GatewayContext & { user: AuthUser },
  signal: AbortSignal | undefined,
) {
  return {
    expiresAt: ctx.user.tokenExp * 1000,
    subscriber: d.subscriber,
    signal,
    queueSize: d.config.subscriptionQueueSize,
    metrics: d.metrics,
    connection: ctx.connection,
    maxBufferedBytes: d.config.wsMaxBufferedBytes,
  };
}

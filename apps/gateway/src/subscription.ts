import type { TopicKind } from "@desk/contracts";
import { z } from "zod";
import { type AuthUser, eventScope } from "./authorization.js";
import type { StreamOptions } from "./backend/stream.js";
import type { GatewayContext } from "./context.js";
import type { GatewayRuntime } from "./runtime.js";

/** Optional lastEventId for resumable subscriptions (tRPC's ws link fills it in on reconnect). */
export const LastEventId = z
  .string()
  .max(300)
  .nullish()
  .describe("id of the last event received, to resume without gaps");

/**
 * The stream options of one subscription of topic family `kind` for ctx's
 * caller: this gateway's limits, the caller's WebSocket, the token's expiry and
 * the per-event scope of the authorization module.
 */
export function streamOptions(
  ctx: GatewayContext & { gateway: GatewayRuntime; user: AuthUser },
  signal: AbortSignal | undefined,
  kind: TopicKind,
): Omit<StreamOptions, "topics"> {
  const { config, subscriber, metrics } = ctx.gateway;
  return {
    kind,
    subscriber,
    signal,
    metrics,
    queueSize: config.subscriptionQueueSize,
    connection: ctx.connection,
    maxBufferedBytes: config.wsMaxBufferedBytes,
    expiresAt: ctx.user.tokenExp * 1000,
    accept: eventScope(ctx.user, kind),
  };
}

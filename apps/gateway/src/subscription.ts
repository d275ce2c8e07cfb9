import {
  distinctList,
  type EventOf,
  MAX_ACCOUNTS_PER_CALL,
  type Permission,
  type TopicKind,
  topicOf,
} from "@desk/contracts";
import { z } from "zod";
import { type AuthUser, eventScope, requireAccounts } from "./authorization.js";
import { type StreamOptions, streamTopics } from "./backend/stream.js";
import type { GatewayContext } from "./context.js";
import type { GatewayRuntime } from "./runtime.js";
import { withPermission } from "./trpc.js";

/** Optional lastEventId for resumable subscriptions (tRPC's ws link fills it in on reconnect). */
export const LastEventId = z
  .string()
  .max(300)
  .nullish()
  .describe("id of the last event received, to resume without gaps");

/**
 * The stream options of one subscription of topic family `kind` for ctx's
 * caller: this gateway's limits, the caller's WebSocket, the token's expiry and
 * revocation, and the per-event scope of the authorization module.
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
    // Logout, a reused refresh token or a password change end it too (auth/revocation.ts).
    revocation: (onRevoked) => ctx.gateway.revocations.watch(ctx.user, onRevoked),
    accept: eventScope(ctx.user, kind),
  };
}

/**
 * A subscription to the topics of family `kind` that the input names by id
 * (`{ symbols }` for market ticks, `{ accountIds }`, ...), resumable by
 * lastEventId, each event scoped to the caller. With `idsAreAccounts`, every id
 * must be one of the caller's accounts before anything is streamed.
 */
export function topicSubscription<K extends TopicKind, Field extends string>(
  kind: K,
  o: {
    permission: Permission;
    field: Field;
    id: z.ZodString;
    /** How many ids one subscription may name (100, MAX_ACCOUNTS_PER_CALL). */
    max?: number;
    idsAreAccounts?: boolean;
  },
) {
  const input = z.object({
    // Bounded and distinct like the contracts' own lists: a repeated id is a 400, not a second listener.
    [o.field]: distinctList(o.id, {
      min: 1,
      max: o.max ?? MAX_ACCOUNTS_PER_CALL,
      what: o.field.replace(/(Ids|s)$/, ""),
      description: `the ${o.field} to follow, each once`,
    }),
    lastEventId: LastEventId,
  }) as z.ZodObject<{ [F in Field]: z.ZodArray<z.ZodString> } & { lastEventId: typeof LastEventId }>;
  return (
    withPermission(o.permission)
      .input(input)
      // The stream itself is the subscription (no generator around it): ticks are the
      // gateway's hottest path, one pass per event per subscriber.
      .subscription(({ ctx, input, signal }) => {
        const parsed = input as { [F in Field]: string[] } & { lastEventId?: string | null };
        const ids = parsed[o.field];
        if (o.idsAreAccounts) requireAccounts(ctx.user, ids);
        return streamTopics<EventOf<K>>({
          ...streamOptions(ctx, signal, kind),
          topics: ids.map((id) => topicOf(kind, id)),
          lastEventId: parsed.lastEventId,
        });
      })
  );
}

import {
  distinctList,
  type EventOf,
  MAX_ACCOUNTS_PER_CALL,
  type Permission,
  type Topic,
  type TopicKind,
  topicOf,
} from "@desk/contracts";
import { TRPCError, type TrackedEnvelope, tracked } from "@trpc/server";
import { z } from "zod";
import { type AuthUser, eventScope, requireAccounts } from "./authorization.js";
import { type Framing, type Source, type Stream, openStream, pumpedEvents } from "./backend/stream.js";
import type { ConnectionHandle } from "./context.js";
import { directFraming, subscriptionAddressOf } from "./http/direct-subscriptions.js";
import type { GatewayRuntime } from "./runtime.js";
import { withPermission } from "./trpc.js";

/*
 * Subscriptions, once for every transport: what a caller may follow (a topic
 * feed's input, permission and account rule) and the stream it follows it in
 * (this gateway's limits, the caller's socket, the token's expiry, each event
 * scoped to the caller). tRPC's procedures (below) and the socket.io adapter
 * (socket-io/) are thin wrappers around these.
 */

/** Optional lastEventId for resumable subscriptions (tRPC's ws link fills it in on reconnect). */
export const LastEventId = z
  .string()
  .max(300)
  .nullish()
  .describe("id of the last event received, to resume without gaps");

/** Whom a stream is for, whatever the transport. */
export interface StreamCaller {
  gateway: GatewayRuntime;
  user: AuthUser;
  /** The caller's socket, to hold back while it is slow; null when there is none to watch. */
  connection: ConnectionHandle | null;
}

/** What a stream whose token expired ends with, on every transport. */
export const TOKEN_EXPIRED = { code: "UNAUTHORIZED", message: "Token expired; reconnect with a fresh token" } as const;

/** What a stream whose token was revoked (logout, a password change, a reused refresh token) ends with. */
export function tokenRevoked(why: string) {
  return { code: "UNAUTHORIZED", message: `Token revoked: ${why}` } as const;
}

/**
 * A stream for `caller`: this gateway's queue and buffer limits, the caller's
 * socket, its token's expiry and revocation.
 */
export function openCallerStream<E>(
  caller: StreamCaller,
  framing: Framing<E>,
  o: { signal?: AbortSignal | undefined; endWithSources?: boolean } = {},
): Stream<E> {
  const { config, subscriber, metrics } = caller.gateway;
  return openStream({
    subscriber,
    metrics,
    framing,
    signal: o.signal,
    endWithSources: o.endWithSources ?? false,
    queueSize: config.subscriptionQueueSize,
    connection: caller.connection,
    maxBufferedBytes: config.wsMaxBufferedBytes,
    expiresAt: caller.user.tokenExp * 1000,
    // Logout, a reused refresh token or a password change end it too (auth/revocation.ts).
    revocation: (onRevoked) => caller.gateway.revocations.watch(caller.user, onRevoked),
  });
}

/** tRPC's framing: tracked(id, data), so the ws link resends the last id as lastEventId on reconnect. */
export const trpcFraming: Framing<TrackedEnvelope<unknown>> = {
  event: (event, data) => tracked(event.id, data),
  expired: () => new TRPCError(TOKEN_EXPIRED),
  revoked: (why) => new TRPCError(tokenRevoked(why)),
};

type FeedInputSchema<Field extends string> = z.ZodObject<
  { [F in Field]: z.ZodArray<z.ZodString> } & { lastEventId: typeof LastEventId }
>;
export type FeedInput<Field extends string> = { [F in Field]: string[] } & { lastEventId?: string | null | undefined };

/**
 * The topics of family `kind` that a caller follows by id (`{ symbols }` for
 * market ticks, `{ accountIds }`, ...), each event scoped to the caller. With
 * `idsAreAccounts`, every id must be one of the caller's accounts before anything
 * is followed.
 */
export interface TopicFeed<K extends TopicKind = TopicKind, Field extends string = string> {
  readonly kind: K;
  readonly permission: Permission;
  readonly field: Field;
  readonly input: FeedInputSchema<Field>;
  /** The topics an input names, once the caller may follow them all (else FORBIDDEN, nothing followed). */
  topicsOf(user: AuthUser, input: FeedInput<Field>): Topic<K>[];
  /** Follows `topics` in `stream`, resuming after lastEventId where the ring buffers still hold the events. */
  follow(stream: Stream<unknown>, user: AuthUser, topics: readonly string[], lastEventId?: string | null): Source;
}

export function topicFeed<K extends TopicKind, Field extends string>(
  kind: K,
  o: {
    permission: Permission;
    field: Field;
    id: z.ZodString;
    /** How many ids one input may name (100, MAX_ACCOUNTS_PER_CALL). */
    max?: number;
    idsAreAccounts?: boolean;
  },
): TopicFeed<K, Field> {
  const input = z.object({
    // Bounded and distinct like the contracts' own lists: a repeated id is a 400, not a second listener.
    [o.field]: distinctList(o.id, {
      min: 1,
      max: o.max ?? MAX_ACCOUNTS_PER_CALL,
      what: o.field.replace(/(Ids|s)$/, ""),
      description: `the ${o.field} to follow, each once`,
    }),
    lastEventId: LastEventId,
  }) as FeedInputSchema<Field>;
  return {
    kind,
    permission: o.permission,
    field: o.field,
    input,
    topicsOf(user, parsed) {
      const ids = parsed[o.field];
      if (o.idsAreAccounts) requireAccounts(user, ids);
      return ids.map((id) => topicOf(kind, id));
    },
    follow: (stream, user, topics, lastEventId) =>
      // Ticks conflate per symbol for a subscriber that falls behind; every other kind keeps every event.
      stream.follow({ kind, topics, lastEventId, accept: eventScope(user, kind), conflate: kind === "market" }),
  };
}

/** A feed as a tRPC subscription: resumable by lastEventId, ending only when the client stops (or the token expires). */
export function topicSubscription<K extends TopicKind, Field extends string>(
  feed: TopicFeed<K, Field>,
): ReturnType<typeof feedProcedure<K, Field>>;
/** Shorthand for a feed that only tRPC serves: topicSubscription(topicFeed(kind, o)). */
export function topicSubscription<K extends TopicKind, Field extends string>(
  kind: K,
  o: Parameters<typeof topicFeed<K, Field>>[1],
): ReturnType<typeof feedProcedure<K, Field>>;
export function topicSubscription<K extends TopicKind, Field extends string>(
  feedOrKind: TopicFeed<K, Field> | K,
  o?: Parameters<typeof topicFeed<K, Field>>[1],
) {
  return feedProcedure(typeof feedOrKind === "string" ? topicFeed(feedOrKind, o!) : feedOrKind);
}

function feedProcedure<K extends TopicKind, Field extends string>(feed: TopicFeed<K, Field>) {
  return (
    withPermission(feed.permission)
      .input(feed.input)
      // Where tRPC's ws adapter would write this subscription's frames (direct-subscriptions.ts).
      .use(async ({ getRawInput, next }) => next({ ctx: { address: subscriptionAddressOf(await getRawInput()) } }))
      // The stream itself is the subscription (no generator around it): ticks are the
      // gateway's hottest path, one pass per event per subscriber.
      .subscription(({ ctx, input, signal }) => {
        const parsed = input as FeedInput<Field>;
        const topics = feed.topicsOf(ctx.user, parsed);
        const caller = { gateway: ctx.gateway, user: ctx.user, connection: ctx.connection };
        const open = <E>(framing: Framing<E>) => {
          const stream = openCallerStream(caller, framing, { signal, endWithSources: true });
          feed.follow(stream, ctx.user, topics, parsed.lastEventId);
          return stream;
        };
        const sendFrame = ctx.connection?.sendFrame;
        const address = ctx.address;
        ctx.gateway.metrics.subscriptionStreams.inc({ delivery: sendFrame && address ? "direct" : "trpc" });
        // Typed as what tRPC's loop would yield either way: the client sees the same frames.
        type Events = AsyncIterableIterator<TrackedEnvelope<EventOf<K>>>;
        if (sendFrame && address) return pumpedEvents(open(directFraming(address, trpcFraming)), sendFrame) as Events;
        return open(trpcFraming).events as Events;
      })
  );
}

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import {
  type ClientToServerEvents,
  type ExecuteInstructionsInput,
  type Permission,
  type RealtimeError,
  type RealtimeSubscriptions,
  type RealtimeTopicKind,
  type ServerToClientEvents,
  type TopicKind,
  type TopicSubscribePayload,
  parseTopic,
  realtimeExecution,
  realtimeTopics,
  topicOf,
} from "@desk/contracts";
import { TRPCError } from "@trpc/server";
import { Server as Engine } from "engine.io";
import { type DefaultEventsMap, Server, type Socket } from "socket.io";
import { z } from "zod";
import { bearerToken } from "../auth/jwt.js";
import type { AuthUser } from "../authorization.js";
import { eventIdOf, seqOfEventId } from "../backend/event-id.js";
import type { Framing, Source, Stream } from "../backend/stream.js";
import type { TopicEvent } from "../backend/subscriber.js";
import { parseInput, publicError } from "../errors.js";
import type { SlowClientWatchdog, WatchedClient } from "../http/slow-clients.js";
import { renewalDelayMs } from "../http/token-renewal.js";
import { type CallerIdentity, admitCaller } from "../middleware/admit.js";
import { requireDeclaredPermission } from "../middleware/authenticate.js";
import { type AuditTrail, auditTrail, userBackend } from "../middleware/backend.js";
import { observe } from "../middleware/observe.js";
import { accountUpdates } from "../routers/account.js";
import { algorithmUpdates } from "../routers/algorithm.js";
import { ExecuteInput, type ExecutionCaller, followExecution, startExecution } from "../routers/instruction.js";
import { marketTicks } from "../routers/market.js";
import type { GatewayRuntime } from "../runtime.js";
import { TOKEN_EXPIRED, type TopicFeed, openCallerStream, tokenRevoked } from "../subscription.js";
import { ResumableSessionAdapter } from "./adapter.js";
import { engineConnection } from "./connection.js";
import { sharedEventParser } from "./parser.js";

/*
 * The source document's WebSocket API over socket.io: a thin adapter over the
 * same subscription layer as tRPC (subscription.ts, routers' feeds,
 * startExecution). Each event passes the same checks as a tRPC call (admitCaller:
 * limits, token, permissions; observe: draining, in-flight count, metrics); each
 * connection is one stream of the stream layer (bounded queue, backpressure on the
 * engine's buffered bytes, per-event scope, the token's expiry).
 *
 * Resume: socket.io's connection state recovery protocol, with the gateway's event
 * ids as its offsets. Every update carries its event id as its last argument, which
 * socket.io-client keeps and sends back (with the session id) when it reconnects.
 * A connection's stream delivers in sequence order across all it follows, so that
 * one id is a resume point for all of them: the session (what it followed) comes
 * back from ResumableSessionAdapter and the missed events from the ring buffers.
 * A gateway that shuts down sends each client a last `session` event whose offset
 * lists what it follows, so the next process resumes those subscriptions (live).
 */

/** Topics (and executions) one connection may follow at once. */
const MAX_FOLLOWED = 1_000;
/** A resume offset longer than this is not ours. */
const MAX_OFFSET_CHARS = 64 * 1024;

const typedFeeds: { [K in RealtimeTopicKind]: TopicFeed<K, (typeof realtimeTopics)[K]["field"]> } = {
  account: accountUpdates,
  algorithm: algorithmUpdates,
  market: marketTicks,
};

/** The contracts' payload types are what the feeds and execute parse: a drift does not compile. */
type SameShape<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export const payloadsMatchContracts: {
  [K in RealtimeTopicKind]: SameShape<z.input<(typeof typedFeeds)[K]["input"]>, TopicSubscribePayload<K>>;
} & { execute: SameShape<z.input<typeof ExecuteInput>, ExecuteInstructionsInput> } = {
  account: true,
  algorithm: true,
  market: true,
  execute: true,
};

/** A feed as this adapter uses it, whatever its id field. */
interface AnyFeed extends Omit<TopicFeed, "input" | "topicsOf"> {
  input: z.ZodType<{ lastEventId?: string | null | undefined }>;
  topicsOf(user: AuthUser, input: object): string[];
}
const feeds = typedFeeds as unknown as Record<RealtimeTopicKind, AnyFeed>;
const idsOf = (feed: AnyFeed, input: object): string[] => (input as Record<string, string[]>)[feed.field] ?? [];

/**
 * The event each served topic family's updates arrive on. Partial: a family the
 * trading system adds later is tRPC's only until it is listed here (CONTRIBUTING.md).
 */
const updateEvents: Partial<Record<TopicKind, keyof ServerToClientEvents>> = {
  account: realtimeTopics.account.update,
  algorithm: realtimeTopics.algorithm.update,
  market: realtimeTopics.market.update,
  execution: realtimeExecution.update,
};

interface SocketData {
  /** The caller, as the handshake's token authenticated them. */
  user: AuthUser;
  /** What the connection follows: topic -> the sequence it follows from. Kept with a recoverable session. */
  follows: Map<string, number>;
}

type RealtimeSocket = Socket<ClientToServerEvents, ServerToClientEvents, DefaultEventsMap, SocketData>;

/** One delivered item: the event and its data as the source maps it. */
interface Frame {
  event: TopicEvent;
  data: unknown;
}

const socketFraming: Framing<Frame> = {
  event: (event, data) => ({ event, data }),
  expired: () => new TRPCError(TOKEN_EXPIRED),
  revoked: (why) => new TRPCError(tokenRevoked(why)),
};

/** One open connection. */
interface Live {
  socket: RealtimeSocket;
  identity: CallerIdentity;
  handle: WatchedClient;
  stream: Stream<Frame>;
  sources: Map<string, Source>;
  abort: AbortController;
  /** Client events being answered: the gateway's own closes wait until none is, so no ack is lost to them. */
  inFlight: number;
  /** Runs once inFlight is back to 0 (a close that was due meanwhile). */
  onIdle: (() => void) | undefined;
}

/** The resume offset of the `closing` session event: what the connection followed. */
const ResumeOffset = z.object({ resume: z.array(z.string().max(300)).max(MAX_FOLLOWED) });

export function createSocketIoServer(runtime: GatewayRuntime, watchdog: SlowClientWatchdog, maxMessageBytes: number) {
  const { config, logger } = runtime;
  const engine = new Engine({
    maxHttpBufferSize: maxMessageBytes,
    // New sessions are refused while draining; socket.io-client retries with its backoff.
    allowRequest: (_req, answer) =>
      runtime.lifecycle.draining ? answer("The gateway is shutting down", false) : answer(null, true),
  });
  const io = new Server<ClientToServerEvents, ServerToClientEvents, DefaultEventsMap, SocketData>({
    serveClient: false,
    // Updates of shared events are encoded once for all their connections (parser.ts).
    parser: sharedEventParser,
    adapter: ResumableSessionAdapter,
    connectionStateRecovery: {
      // A topic's ring buffer stays for the linger after its last listener: recover within it.
      maxDisconnectionDuration: config.topicLingerMs,
      // The handshake's token is checked on a recovered connection too.
      skipMiddlewares: false,
    },
  });
  io.bind(engine);
  const connections = new Set<Live>();

  io.use((socket, next) => {
    const identity = identityOf(socket);
    observe(runtime, { path: "socket.io:connect", type: "socket.io", clock: null }, async () => {
      socket.data.user = await admitCaller(runtime, identity);
      return { ok: true } as const;
    }).then(
      () => next(),
      (err: unknown) => {
        const { code, message } = publicError(err);
        next(Object.assign(new Error(message), { data: { code } }));
      },
    );
  });

  io.on("connection", (socket) => {
    const live = open(socket);
    connections.add(live);
    socket.on("disconnect", () => {
      connections.delete(live);
      live.stream.close();
      live.abort.abort();
    });
  });

  function open(socket: RealtimeSocket): Live {
    const handle = engineConnection(socket.conn);
    const unwatch = watchdog.watch(handle, "socket.io");
    socket.once("disconnect", unwatch);
    const user = socket.data.user;
    socket.data.follows ??= new Map();
    const live: Live = {
      socket,
      identity: identityOf(socket),
      handle,
      stream: openCallerStream({ gateway: runtime, user, connection: handle }, socketFraming),
      sources: new Map(),
      abort: new AbortController(),
      inFlight: 0,
      onIdle: undefined,
    };
    for (const kind of Object.keys(feeds) as RealtimeTopicKind[]) serveFeed(live, kind);
    serveExecute(live);
    renewBeforeExpiry(live);
    resume(live, user);
    void pump(live);
    return live;
  }

  /**
   * Access tokens live minutes, and a connection's token cannot change: shortly
   * before it expires (token-renewal.ts's lead) the gateway closes the transport,
   * not the socket.io session. socket.io-client reconnects by itself, asking its
   * `auth` function again (connectEvents with a function: a fresh token), and the
   * session is recovered with every event after its last one. A client with a
   * fixed token comes back with the same one, is not closed again, and its
   * connection ends at expiry with the `error` event, as before. The close waits
   * for the events being answered (an execute's ack, its execution id) so that the
   * renewal never costs a caller its answer or aborts its write.
   */
  function renewBeforeExpiry(live: Live): void {
    const delay = renewalDelayMs(live.identity.token);
    if (delay === undefined) return;
    const timer = setTimeout(() => whenIdle(live, () => live.socket.conn.close()), delay);
    timer.unref();
    live.socket.once("disconnect", () => clearTimeout(timer));
  }

  /** Re-follows what a connection followed: after a dropped connection (same process), or a restart it was told of. */
  function resume(live: Live, user: AuthUser): void {
    const { socket } = live;
    const offset = typeof socket.handshake.auth?.offset === "string" ? socket.handshake.auth.offset : undefined;
    // The client's last event: everything the connection delivered up to it arrived (one ordered stream).
    const watermark = socket.recovered ? seqOfEventId(offset) : undefined;
    const previous = socket.recovered ? [...socket.data.follows] : announcedFollows(offset);
    socket.data.follows.clear();
    socket.emit(
      "session",
      { resumed: previous.length > 0, closing: false, subscriptions: subscriptionsOf(previous.map(([t]) => t)) },
      // Until an update arrives this is the connection's resume point; for a recovered one, the client's own.
      watermark !== undefined && offset ? offset : eventIdOf("session", runtime.subscriber.currentSeq),
    );
    // Each resumes after the later of the client's last event and its own start; a new process: live.
    const resumeId = (topic: string, from: number | undefined) => {
      const seq = watermark === undefined ? from : Math.max(watermark, from ?? 0);
      return seq === undefined ? undefined : eventIdOf(topic, seq);
    };
    const byKind = new Map<TopicKind, Array<[string, number | undefined]>>();
    for (const [topic, from] of previous) {
      const parsed = parseTopic(topic);
      if (!parsed) continue;
      byKind.set(parsed.kind, [...(byKind.get(parsed.kind) ?? []), [parsed.id, from]]);
    }
    for (const [kind, entries] of byKind) {
      if (kind === "execution") {
        for (const [executionId, from] of entries) {
          const lastEventId = resumeId(topicOf("execution", executionId), from) ?? null;
          followOneExecution(live, user, executionId, lastEventId, audited(live, "socket.io:resume", user)).catch(
            (err: unknown) => emitError(live, realtimeExecution.execute, err),
          );
        }
        continue;
      }
      // Only the families this API serves (a crafted offset may name others).
      if (!Object.hasOwn(feeds, kind)) continue;
      const served = kind as RealtimeTopicKind;
      const feed = feeds[served];
      try {
        requireDeclaredPermission(runtime, user, feed.permission);
        const topics = feed.topicsOf(user, { [feed.field]: entries.map(([id]) => id) });
        topics.forEach((topic, i) => {
          followTopic(live, feed, user, topic, resumeId(topic, entries[i]?.[1]));
        });
      } catch (err) {
        emitError(live, realtimeTopics[served].subscribe, err);
      }
    }
  }

  /** What a restarted gateway's client followed, from the offset of the previous process's `closing` session event. */
  function announcedFollows(offset: string | undefined): Array<[string, number | undefined]> {
    if (!offset || offset.length > MAX_OFFSET_CHARS || !offset.startsWith("{")) return [];
    try {
      const parsed = ResumeOffset.safeParse(JSON.parse(offset));
      return parsed.success ? parsed.data.resume.map((topic) => [topic, undefined]) : [];
    } catch {
      return [];
    }
  }

  function followTopic(
    live: Live,
    feed: AnyFeed,
    user: AuthUser,
    topic: string,
    lastEventId: string | null | undefined,
  ): void {
    const source = feed.follow(live.stream, user, [topic], lastEventId);
    live.sources.set(topic, source);
    live.socket.data.follows.set(topic, source.startSeq);
  }

  async function followOneExecution(
    live: Live,
    user: AuthUser,
    executionId: string,
    lastEventId: string | null,
    audit: AuditTrail,
  ) {
    const topic = topicOf("execution", executionId);
    const source = await followExecution(executionCaller(live, user, audit), live.stream, executionId, lastEventId);
    track(live, topic, source);
  }

  function track(live: Live, topic: string, source: Source): void {
    if (source.ended) return;
    live.sources.set(topic, source);
    live.socket.data.follows.set(topic, source.startSeq);
  }

  /** The audit trail of one client event (a write's line, or its refusal's, is written there). */
  function audited(live: Live, event: string, user?: AuthUser): AuditTrail {
    return auditTrail(runtime, { path: event, ip: live.identity.clientIp, transport: "socket.io" }, user);
  }

  function executionCaller(live: Live, user: AuthUser, audit: AuditTrail): ExecutionCaller {
    return {
      gateway: runtime,
      user,
      connection: live.handle,
      backend: userBackend(runtime, user, audit, live.abort.signal),
      audit,
    };
  }

  /** `<kind>:subscribe` and `<kind>:unsubscribe`: the feed tRPC's `<kind>.on...` subscription serves. */
  function serveFeed(live: Live, kind: RealtimeTopicKind): void {
    const feed = feeds[kind];
    const names = realtimeTopics[kind];
    serve(live, names.subscribe, { permission: feed.permission }, (user, payload) => {
      const input = parseInput(feed.input, payload);
      const topics = feed.topicsOf(user, input);
      const fresh = [...new Set(topics)].filter((topic) => !live.sources.has(topic));
      if (live.sources.size + fresh.length > MAX_FOLLOWED) {
        throw new TRPCError({
          code: "BAD_REQUEST",
          message: `A connection follows at most ${MAX_FOLLOWED} topics; unsubscribe from some first`,
        });
      }
      for (const topic of fresh) followTopic(live, feed, user, topic, input.lastEventId);
      return Promise.resolve({ topics });
    });
    serve(live, names.unsubscribe, {}, (_user, payload) => {
      const input = parseInput(feed.input, payload);
      // Leaving needs no right: only the connection's own topics are touched.
      const topics = idsOf(feed, input).map((id) => topicOf(kind, id));
      for (const topic of topics) {
        live.sources.get(topic)?.stop();
        live.sources.delete(topic);
        live.socket.data.follows.delete(topic);
      }
      return Promise.resolve({ topics });
    });
  }

  /** `instruction:execute`: tRPC's executeLive (startExecution), its updates on `instruction:execution:update`. */
  function serveExecute(live: Live): void {
    serve(live, realtimeExecution.execute, { audit: true }, async (user, payload, audit) => {
      const input = parseInput(ExecuteInput, payload);
      if (live.sources.size >= MAX_FOLLOWED) {
        throw new TRPCError({ code: "BAD_REQUEST", message: `A connection follows at most ${MAX_FOLLOWED} topics` });
      }
      const { started, source } = await startExecution(executionCaller(live, user, audit), live.stream, input);
      track(live, topicOf("execution", started.id), source);
      return { executionId: started.id, status: started.status };
    });
  }

  /**
   * One client event, checked like a tRPC call (observe, admitCaller with the
   * connection's token), answered in its ack and, when refused, on `error` too.
   * A write (`audit`) leaves its audit line as tRPC's do: the backend binding writes
   * it once sent, and a refusal before that (token, limits, input, accounts) here.
   */
  function serve(
    live: Live,
    event: keyof ClientToServerEvents,
    spec: { permission?: Permission; audit?: boolean },
    run: (user: AuthUser, payload: unknown, audit: AuditTrail) => Promise<Record<string, unknown>>,
  ): void {
    const on = live.socket.on.bind(live.socket) as (event: string, listener: (...args: unknown[]) => void) => void;
    on(event, (payload: unknown, ack: unknown) => {
      const reply = typeof ack === "function" ? (ack as (reply: unknown) => void) : undefined;
      const audit = audited(live, event);
      live.inFlight++;
      observe(runtime, { path: event, type: "socket.io", clock: null }, async () => {
        const user = await admitCaller(runtime, live.identity, spec.permission, audit);
        const result = await run(user, payload, audit);
        reply?.({ ok: true, ...result });
        return { ok: true } as const;
      })
        .catch((err: unknown) => {
          if (spec.audit && !audit.written) audit.writeFailure(err, { reachedBackend: false });
          const error = emitError(live, event, err);
          reply?.({ ok: false, error });
        })
        .finally(() => {
          live.inFlight--;
          if (live.inFlight > 0 || !live.onIdle) return;
          const due = live.onIdle;
          live.onIdle = undefined;
          due();
        });
    });
  }

  /**
   * Runs `close` once the connection answers no client event: a close of the
   * gateway's own (a renewal, the token's end) must not cut an ack, nor abort the
   * write behind it through the connection's signal.
   */
  function whenIdle(live: Live, close: () => void): void {
    if (live.inFlight === 0) close();
    else live.onIdle = close;
  }

  function emitError(live: Live, event: string, err: unknown): RealtimeError {
    const error: RealtimeError = { ...publicError(err), event };
    if (error.code === "INTERNAL_SERVER_ERROR") logger.error({ event, err }, "socket.io event failed");
    live.socket.emit("error", error);
    return error;
  }

  /** Hands the connection's stream to its socket, each update with its event id; ends it when the token expires. */
  async function pump(live: Live): Promise<void> {
    const emit = live.socket.emit.bind(live.socket) as (event: string, ...args: unknown[]) => boolean;
    try {
      for await (const { event, data } of live.stream.events) {
        // A connection follows only the families above (its feeds and executions).
        emit(updateEvents[event.kind]!, data, event.id);
        if (event.kind === "execution" && live.sources.get(event.topic)?.ended) {
          live.sources.delete(event.topic);
          live.socket.data.follows.delete(event.topic);
        }
      }
    } catch (err) {
      emitError(live, "session", err);
      // A token cannot change on a connection: the client reconnects with a fresh one.
      // Events admitted before the expiry are answered first (later ones are refused).
      whenIdle(live, () => live.socket.disconnect(true));
    }
  }

  function subscriptionsOf(topics: Iterable<string>): RealtimeSubscriptions {
    const out: RealtimeSubscriptions = { accountIds: [], algorithmIds: [], symbols: [], executionIds: [] };
    const lists = {
      account: out.accountIds,
      algorithm: out.algorithmIds,
      market: out.symbols,
      execution: out.executionIds,
    };
    for (const topic of topics) {
      const parsed = parseTopic(topic);
      if (parsed) lists[parsed.kind].push(parsed.id);
    }
    return out;
  }

  return {
    handleRequest: (req: IncomingMessage, res: ServerResponse) => engine.handleRequest(req, res),
    handleUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => engine.handleUpgrade(req, socket, head),
    clientCount: () => engine.clientsCount,
    /**
     * Shutdown (after the calls in flight were answered, their acks included): each
     * connection's stream ends with a `session` event announcing
     * the restart, whose offset lists what it follows (socket.io-client sends it to
     * the next process, which resumes them); then the transports close (not a
     * socket.io disconnect, so clients reconnect by themselves).
     */
    async close(withinMs: number): Promise<void> {
      const closed: Array<Promise<void>> = [];
      for (const live of connections) {
        live.stream.close();
        const follows = [...live.socket.data.follows.keys()];
        live.socket.emit(
          "session",
          { resumed: false, closing: true, subscriptions: subscriptionsOf(follows) },
          JSON.stringify({ resume: follows }),
        );
        closed.push(new Promise((resolve) => live.socket.conn.once("close", () => resolve())));
        live.socket.conn.close();
      }
      // Each gets up to `withinMs` to take its last events (its acks and errors too), then is cut.
      await Promise.race([Promise.all(closed), new Promise((resolve) => setTimeout(resolve, withinMs).unref())]);
      await io.close();
    },
  };
}

function identityOf(socket: RealtimeSocket): CallerIdentity {
  const fromAuth = socket.handshake.auth?.token;
  return {
    clientIp: socket.handshake.address || "unknown",
    token:
      typeof fromAuth === "string" && fromAuth.length > 0
        ? fromAuth
        : bearerToken(
            typeof socket.handshake.headers.authorization === "string" ? socket.handshake.headers.authorization : null,
          ),
  };
}

export type SocketIoServer = ReturnType<typeof createSocketIoServer>;

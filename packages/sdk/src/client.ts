import {
  type CreateTRPCClientOptions,
  createTRPCClient,
  createWSClient,
  httpBatchLink,
  splitLink,
  type TRPCClient,
  type TRPCLink,
  wsLink,
} from "@trpc/client";
import type { AnyTRPCRouter } from "@trpc/server";
import superjson from "superjson";
import type { AppRouter } from "./router.js";
import { flushWithoutTimerFloor } from "./immediate-flush.js";
import { type ReconnectOptions, reconnectDelay } from "./reconnect.js";
import { type TokenSource, tokenGetter } from "./token.js";
import { httpEndpoint, wsEndpoint } from "./urls.js";
import { resolveWebSocket, type WebSocketConstructor, webSocketUnavailable } from "./websocket.js";

export type GatewayClientOptions = TokenSource & {
  /** Gateway base URL, e.g. "http://localhost:3001". HTTP goes to `<url>/trpc`. */
  url: string;
  /** WebSocket URL; default derived from `url` (ws(s)://host:port/trpc). */
  wsUrl?: string;
  /** WebSocket class. Default: globalThis.WebSocket, else the `ws` package (Node 20). */
  WebSocket?: WebSocketConstructor;
  /** Reconnect backoff with jitter. */
  reconnect?: ReconnectOptions;
  /** Close the idle socket this long after the last subscription ends. Default 10,000 ms. */
  lazyCloseMs?: number;
  /** Ping the server and drop a half-open socket. Default on, 5,000 ms interval. */
  keepAliveMs?: number | false;
  /** Connection state changes of the WebSocket, for a "reconnecting..." banner. */
  onConnectionState?: (state: GatewayConnectionState) => void;
  /**
   * "http+ws" (default): queries and mutations over HTTP batching, subscriptions over the
   * WebSocket. "ws": everything over the one WebSocket (no per-request HTTP cost; the
   * socket then stays open while any call is in flight).
   */
  transport?: "http+ws" | "ws";
  /** Extra headers for HTTP requests (e.g. a trace id). */
  headers?: () => Record<string, string> | Promise<Record<string, string>>;
  /** fetch implementation; default globalThis.fetch. */
  fetch?: typeof globalThis.fetch;
};

/**
 * "idle": no socket (lazy, nothing subscribed); "connecting": opening or reconnecting
 * (error says why the last one failed); "pending": open and serving.
 */
export interface GatewayConnectionState {
  state: "idle" | "connecting" | "pending";
  error: Error | null;
}

export type GatewayClient<TRouter extends AnyTRPCRouter = AppRouter> = TRPCClient<TRouter>;

type Closer = () => Promise<void>;
const closers = new WeakMap<object, Closer>();

/**
 * A typed tRPC client for the gateway: queries and mutations over HTTP batching,
 * subscriptions over one lazy, reconnecting WebSocket, superjson both ways.
 * The token is read again for every HTTP request and every WebSocket (re)connect,
 * so a refreshed token is picked up without rebuilding the client; with `session`
 * (createSession) the SDK refreshes it itself before it expires.
 *
 * The generic parameter exists for tests against small routers; apps use the default.
 */
export function createGatewayClient<TRouter extends AnyTRPCRouter = AppRouter>(
  options: GatewayClientOptions,
): GatewayClient<TRouter> {
  const getToken = tokenGetter(options);
  const webSocket = resolveWebSocket(options.WebSocket);
  const wsUrl = options.wsUrl ?? wsEndpoint(options.url);
  const keepAliveMs = options.keepAliveMs ?? 5_000;

  const wsClient = createWSClient({
    // Async URL: the moment to finish loading `ws` before tRPC constructs the socket.
    url: async () => {
      await webSocket.ready();
      return wsUrl;
    },
    connectionParams: async () => {
      const token = await getToken();
      return token ? { token } : {};
    },
    WebSocket: webSocket.ctor,
    retryDelayMs: (attempt) => reconnectDelay(attempt, options.reconnect),
    lazy: { enabled: true, closeMs: options.lazyCloseMs ?? 10_000 },
    keepAlive:
      keepAliveMs === false
        ? { enabled: false }
        : { enabled: true, intervalMs: keepAliveMs, pongTimeoutMs: Math.max(1_000, keepAliveMs) },
  });
  // Node: requests leave on setImmediate, not tRPC's 1 ms-clamped setTimeout(0) (immediate-flush.ts).
  flushWithoutTimerFloor(wsClient);
  const stateSubscription = options.onConnectionState
    ? wsClient.connectionState.subscribe({
        next: (s) => {
          const error = s.type === "state" && s.error ? (webSocketUnavailable(s.error) ?? s.error) : null;
          options.onConnectionState?.({ state: s.state, error });
        },
      })
    : undefined;

  // Links are built for "any router with superjson" and the result typed as TRouter:
  // tRPC's transformer option types cannot be resolved for a still-generic TRouter.
  const links: TRPCLink<AnyTRPCRouter>[] = [
    splitLink({
      condition: (op) => options.transport === "ws" || op.type === "subscription",
      true: wsLink({ client: wsClient, transformer: superjson }),
      false: httpBatchLink({
        url: httpEndpoint(options.url),
        transformer: superjson,
        ...(options.fetch ? { fetch: options.fetch } : {}),
        headers: async () => {
          const token = await getToken();
          const extra = options.headers ? await options.headers() : {};
          return token ? { ...extra, authorization: `Bearer ${token}` } : extra;
        },
      }),
    }),
  ];
  const client = createTRPCClient<TRouter>({ links } as unknown as CreateTRPCClientOptions<TRouter>);

  closers.set(client, async () => {
    stateSubscription?.unsubscribe();
    await wsClient.close();
  });
  return client;
}

/**
 * Closes the client's WebSocket (ending its subscriptions). A separate function because
 * the tRPC client is a proxy in which every property name is a procedure path.
 */
export async function closeGatewayClient(client: object): Promise<void> {
  const close = closers.get(client);
  closers.delete(client);
  if (close) await close();
}

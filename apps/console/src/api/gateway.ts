import {
  closeGatewayClient,
  createGatewayClient,
  createSession,
  type GatewayClient,
  type GatewayConnectionState,
  toGatewayError,
} from "@desk/sdk";
import { MutationCache, QueryCache, QueryClient } from "@tanstack/react-query";
import type { Session, Tokens } from "../lib/session";
import { createStore, type Store } from "../lib/store";

/**
 * Where the gateway is: the page's own origin (the gateway serves the console, or Vite's
 * dev server forwards /trpc to it), unless the build was told otherwise.
 */
export function gatewayUrl(): string {
  const configured = import.meta.env.VITE_GATEWAY_URL;
  return typeof configured === "string" && configured.length > 0 ? configured : window.location.origin;
}

export interface SocketState {
  current: GatewayConnectionState | null;
  /** The socket was open at least once: a later "connecting" is a reconnect. */
  wasConnected: boolean;
}

/** One signed-in (or signed-out) connection to the gateway: its client, cache and socket state. */
export interface GatewaySession {
  client: GatewayClient;
  queryClient: QueryClient;
  socket: Store<SocketState>;
  /** Ends the login at the gateway (its tokens stop working everywhere); best effort. */
  logout(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A fresh client per login: nothing of one user outlives their logout. Within a login
 * the SDK's session renews the access token before it expires (every few minutes) and
 * the client keeps its socket, subscriptions and cache; each new pair is handed to
 * `onTokens` (stored, so a reload carries on). Reads are retried when the error says a
 * retry can help; writes never are (a write is sent at most once). Any UNAUTHORIZED
 * answer, or a session that can no longer be renewed, calls `onUnauthorized` (back to
 * the login form).
 */
export function openGatewaySession(
  session: Session | null,
  handlers: { onUnauthorized(): void; onTokens(tokens: Tokens): void },
): GatewaySession {
  const socket = createStore<SocketState>({ current: null, wasConnected: false });
  const url = gatewayUrl();
  const renewal = session
    ? createSession(url, session.tokens, { onRefresh: handlers.onTokens, onEnd: () => handlers.onUnauthorized() })
    : null;
  const options = {
    url,
    onConnectionState: (state: GatewayConnectionState) => {
      const before = socket.get();
      socket.set({ current: state, wasConnected: before.wasConnected || state.state === "pending" });
    },
  };
  const client = renewal ? createGatewayClient({ ...options, session: renewal }) : createGatewayClient(options);
  const onError = (err: unknown) => {
    if (session !== null && toGatewayError(err).kind === "unauthorized") handlers.onUnauthorized();
  };
  const queryClient = new QueryClient({
    queryCache: new QueryCache({ onError }),
    mutationCache: new MutationCache({ onError }),
    defaultOptions: {
      queries: {
        staleTime: 5_000,
        refetchOnWindowFocus: false,
        retry: (failures, err) => failures < 3 && toGatewayError(err).retryable,
        retryDelay: (failures) => Math.min(4_000, 500 * 2 ** failures),
      },
      mutations: { retry: false },
    },
  });
  return {
    client,
    queryClient,
    socket,
    logout: async () => {
      await renewal?.logout().catch(() => undefined);
    },
    async close() {
      queryClient.clear();
      await closeGatewayClient(client);
    },
  };
}

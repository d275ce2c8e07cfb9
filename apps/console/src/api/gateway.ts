import {
  closeGatewayClient,
  createGatewayClient,
  type GatewayClient,
  type GatewayConnectionState,
  toGatewayError,
} from "@desk/sdk";
import { MutationCache, QueryCache, QueryClient } from "@tanstack/react-query";
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
  close(): Promise<void>;
}

/**
 * A fresh client per token: the gateway reads a WebSocket's token once, when it opens, so
 * another user must not inherit this socket. Reads are retried when the error says a retry
 * can help; writes never are (a write is sent at most once). Any UNAUTHORIZED answer calls
 * `onUnauthorized` (expired or revoked token: back to the login form).
 */
export function openGatewaySession(token: string | null, onUnauthorized: () => void): GatewaySession {
  const socket = createStore<SocketState>({ current: null, wasConnected: false });
  const client = createGatewayClient({
    url: gatewayUrl(),
    getToken: () => token,
    onConnectionState: (state) => {
      const before = socket.get();
      socket.set({ current: state, wasConnected: before.wasConnected || state.state === "pending" });
    },
  });
  const onError = (err: unknown) => {
    if (token !== null && toGatewayError(err).kind === "unauthorized") onUnauthorized();
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
    async close() {
      queryClient.clear();
      await closeGatewayClient(client);
    },
  };
}

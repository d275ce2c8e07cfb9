import { type TRPCClient, createTRPCClient, createWSClient, httpLink, splitLink, wsLink } from "@trpc/client";
import superjson from "superjson";
import WebSocket from "ws";
import type { AppRouter } from "../../src/index.js";

/** A typed tRPC client for the gateway: subscriptions over ws (token in connectionParams), the rest over HTTP. */
export function createClient(
  url: string,
  wsUrl: string,
  token: string | (() => string | undefined) | undefined,
): { client: TRPCClient<AppRouter>; close: () => Promise<void> } {
  const getToken = typeof token === "function" ? token : () => token;
  const wsClient = createWSClient({
    url: wsUrl,
    WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
    connectionParams: () => {
      const t = getToken();
      return t ? { token: t } : {};
    },
    retryDelayMs: () => 100,
  });
  const client = createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === "subscription",
        true: wsLink({ client: wsClient, transformer: superjson }),
        false: httpLink({
          url: `${url}/trpc`,
          transformer: superjson,
          headers: () => {
            const t = getToken();
            return t ? { authorization: `Bearer ${t}` } : {};
          },
        }),
      }),
    ],
  });
  return { client, close: () => wsClient.close() };
}

/** Collects a subscription's data and errors; stop() unsubscribes. */
export function collect<T>(
  subscribe: (handlers: { onData: (d: T) => void; onError: (e: unknown) => void; onComplete: () => void }) => {
    unsubscribe(): void;
  },
) {
  const data: T[] = [];
  const errors: unknown[] = [];
  let completed = false;
  const sub = subscribe({
    onData: (d) => data.push(d),
    onError: (e) => errors.push(e),
    onComplete: () => {
      completed = true;
    },
  });
  return {
    data,
    errors,
    get completed() {
      return completed;
    },
    stop: () => sub.unsubscribe(),
  };
}

import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";

/** A client connection the watchdog can measure and cut off. */
export interface WatchedClient {
  /** Bytes written for this client and not yet handed to the kernel. */
  bufferedAmount(): number;
  /** Drops the connection at once (no closing handshake behind a full buffer). */
  terminate(): void;
}

/**
 * Neither tRPC's ws adapter nor socket.io looks at a slow client's send buffer:
 * a client that stops reading would grow our memory. Streams pause above the
 * limit (their queues then drop oldest), and a client stuck above it for the
 * grace period is cut off. One watchdog for every transport's clients.
 */
export function createSlowClientWatchdog(o: {
  maxBufferedBytes: number;
  graceMs: number;
  logger: Logger;
  metrics: Metrics;
}) {
  const clients = new Map<WatchedClient, { transport: string; overSince: number | undefined }>();
  const timer = setInterval(
    () => {
      const now = Date.now();
      for (const [client, watch] of clients) {
        const buffered = client.bufferedAmount();
        if (buffered <= o.maxBufferedBytes) {
          watch.overSince = undefined;
          continue;
        }
        watch.overSince ??= now;
        if (now - watch.overSince >= o.graceMs) {
          o.logger.warn(
            { transport: watch.transport, bufferedAmount: buffered },
            "closing a client that stopped reading",
          );
          o.metrics.wsSlowClientsClosed.inc();
          clients.delete(client);
          client.terminate();
        }
      }
    },
    Math.min(1000, Math.max(50, Math.floor(o.graceMs / 4))),
  );
  timer.unref();
  return {
    /** Watches `client` until the returned function is called (when it closes). */
    watch(client: WatchedClient, transport: string): () => void {
      clients.set(client, { transport, overSince: undefined });
      return () => clients.delete(client);
    },
    stop: () => clearInterval(timer),
  };
}

export type SlowClientWatchdog = ReturnType<typeof createSlowClientWatchdog>;

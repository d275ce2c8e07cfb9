import { TRPCClientError } from "@trpc/client";

/*
 * tRPC's WebSocket client (11.25.2) batches the requests of one tick: each call
 * goes through `flushOutgoing`, which awaits `sleep(0)`, a `setTimeout(0)`, before
 * sending. Node clamps that timer to 1 ms, so every call over the socket waited a
 * millisecond before it left the process (the bench's c=1 row: ~1 ms of a 2 ms call).
 * tRPC exposes no option for the scheduling, and a pnpm patch of @trpc/client
 * would not travel in the SDK's tarball (an app installs @trpc/client from npm), so
 * the SDK replaces that one method on the client it creates, with the same steps
 * and `setImmediate` as the wait: still a macrotask, so calls made in the same tick
 * still go out as one batch, without the clamp. Like Nagle's algorithm, the short
 * wait is for a client with no query or mutation awaiting its answer (a UI's lone
 * call, the bench's c=1); while some are (a busy client), the flush waits tRPC's
 * timer, so more calls share one message: measured at 64 calls in flight, flushing
 * each on setImmediate cost ~10% of the throughput. Browsers (no setImmediate) keep
 * tRPC's own method untouched. If tRPC's internals ever stop looking like the
 * version this was written against, the replacement is not installed (tRPC's own
 * method stays, correct but 1 ms slower).
 */

interface Callbacks {
  error(err: unknown): void;
}
interface Outgoing {
  message: unknown;
  callbacks: Callbacks;
}
/** The parts of tRPC's WsClient that flushOutgoing uses (11.25.2, src/links/wsLink/wsClient/wsClient.ts). */
interface WsClientInternals {
  activeConnection: { isOpen(): boolean; ws: unknown };
  reconnecting: unknown;
  open(): Promise<void>;
  send(messages: unknown[]): void;
  requestManager: {
    getPendingRequests(): Array<{ message: { method?: unknown } }>;
    hasOutgoingRequests(): boolean;
    isOutgoing(message: unknown): boolean;
    flush(ws: unknown): Outgoing[];
    delete(message: unknown): void;
  };
  flushOutgoing(message: unknown, callbacks: Callbacks): void;
}

const hasFunctions = (value: unknown, names: readonly string[]): boolean =>
  typeof value === "object" &&
  value !== null &&
  names.every((name) => typeof (value as Record<string, unknown>)[name] === "function");

function looksLikeWsClient(client: unknown): client is WsClientInternals {
  const c = client as Partial<WsClientInternals>;
  return (
    hasFunctions(client, ["open", "send", "flushOutgoing"]) &&
    "reconnecting" in (client as object) &&
    hasFunctions(c.activeConnection, ["isOpen"]) &&
    hasFunctions(c.requestManager, ["getPendingRequests", "hasOutgoingRequests", "isOutgoing", "flush", "delete"])
  );
}

/** A user callback that throws must not break the client's loop (tRPC's callUserCallback). */
function callUserCallback(callback: () => void): void {
  try {
    callback();
  } catch (err) {
    setTimeout(() => {
      throw err;
    }, 0);
  }
}

type Schedule = (callback: () => void) => void;

/** setImmediate where the runtime has it (Node, Bun, Deno); undefined in browsers. */
export function immediateScheduler(): Schedule | undefined {
  const immediate = (globalThis as { setImmediate?: (callback: () => void) => unknown }).setImmediate;
  return typeof immediate === "function" ? (callback) => void immediate(callback) : undefined;
}

/**
 * Makes `wsClient` flush its queued requests on `schedule` (setImmediate) instead of
 * a clamped setTimeout(0). Returns true when installed.
 */
export function flushWithoutTimerFloor(
  wsClient: unknown,
  schedule: Schedule | undefined = immediateScheduler(),
): boolean {
  if (!schedule || !looksLikeWsClient(wsClient)) return false;
  const client = wsClient;
  /** A query or mutation sent and not yet answered (subscriptions stay pending while they run). */
  const callsAwaitingAnswers = () =>
    client.requestManager.getPendingRequests().some((request) => request.message.method !== "subscription");
  const tick = () =>
    new Promise<void>((resolve) => (callsAwaitingAnswers() ? setTimeout(resolve, 0) : schedule(resolve)));
  // The same steps as tRPC's flushOutgoing; only the wait differs.
  client.flushOutgoing = (message, callbacks) => {
    (async () => {
      do {
        if (!client.activeConnection.isOpen()) await client.open();
        await tick();
      } while (!client.activeConnection.isOpen() && client.reconnecting);
      const requests = client.requestManager;
      if (!requests.hasOutgoingRequests()) return;
      if (!client.activeConnection.isOpen() && !requests.isOutgoing(message)) return;
      const flushed = requests.flush(client.activeConnection.ws);
      try {
        client.send(flushed.map((request) => request.message));
      } catch (err) {
        for (const request of flushed) {
          requests.delete(request.message);
          callUserCallback(() => request.callbacks.error(TRPCClientError.from(err as Error)));
        }
      }
    })().catch((err: unknown) => {
      client.requestManager.delete(message);
      callUserCallback(() => callbacks.error(TRPCClientError.from(err as Error)));
    });
  };
  return true;
}

/*
 * One socket write per backlog instead of one per WebSocket frame. ws writes
 * each frame with its own writev (it corks header and payload of one frame),
 * and on loopback that syscall also runs the receiver's TCP path: ~25-28% of the
 * gateway's CPU under fan-out. A subscriber's frames are produced in a burst
 * (its stream hands its queue out in one go, stream.ts), so the first send of a
 * turn of the event loop corks the TCP socket and one setImmediate uncorks every
 * socket corked in that turn: Node then writes each socket's frames with one
 * writev. A frame waits at most until the end of the current event-loop turn.
 */

interface Corkable {
  cork(): void;
  uncork(): void;
  destroyed?: boolean;
}

/** A client's TCP socket and whether it is corked for this turn. */
interface Batch {
  socket: Corkable;
  corked: boolean;
}

let corkedThisTurn: Batch[] = [];
const batched = new WeakSet<object>();
let warnedUnavailable = false;

function uncorkAll(): void {
  const batches = corkedThisTurn;
  corkedThisTurn = [];
  for (const batch of batches) {
    batch.corked = false;
    batch.socket.uncork();
  }
}

/** Corks the batch's socket until the end of this turn of the event loop (once per turn). */
function corkForThisTurn(batch: Batch): void {
  if (batch.corked || batch.socket.destroyed) return;
  batch.corked = true;
  batch.socket.cork();
  if (corkedThisTurn.push(batch) === 1) setImmediate(uncorkAll);
}

/**
 * Wraps `ws.send` so that the frames sent to this client in one turn of the event
 * loop leave in one write. `ws` is a `ws` package WebSocket (its TCP socket is
 * `_socket`, stable across ws 8); anything else is left as it is. Used for tRPC's
 * sockets and for engine.io's websocket transport (socket.io), whose write buffer
 * already sends a connection's queued packets as one burst of ws.send calls.
 * Returns whether the sends are batched; with `logger`, the first WebSocket they
 * cannot be batched on is reported once.
 */
export function batchWrites(ws: { send: (...args: never[]) => void }, logger?: { warn(msg: string): void }): boolean {
  const socket = (ws as unknown as { _socket?: Corkable })._socket;
  if (!socket || typeof socket.cork !== "function" || typeof socket.uncork !== "function") {
    // Correct, one write per frame: say so once, so a ws upgrade that moved `_socket` is seen.
    if (logger && !warnedUnavailable) {
      warnedUnavailable = true;
      logger.warn(
        "ws: no corkable TCP socket on this WebSocket (ws internals changed?); frames are written one by one",
      );
    }
    return false;
  }
  if (batched.has(ws)) return true;
  batched.add(ws);
  const batch: Batch = { socket, corked: false };
  const send = ws.send.bind(ws) as (...args: unknown[]) => void;
  (ws as unknown as { send: (...args: unknown[]) => void }).send = (...args: unknown[]) => {
    corkForThisTurn(batch);
    send(...args);
  };
  return true;
}

import type { CallClock, CallTiming } from "../context.js";

/*
 * The gateway's own time per call: from the arrival of the request (or WebSocket
 * message) that carries it to the write of its reply, minus the time its backend
 * calls took (CallTiming.backendMs, added by ctx.backend). Recorded in
 * gateway_call_overhead_seconds by transport.
 *
 * - HTTP: arrival is the server's request event, the write is the response's
 *   'finish' (every call of a batch ends there).
 * - WebSocket: arrival is the socket's last 'message' event. A call's middleware
 *   runs in the microtasks of the event that delivered its message (tRPC decodes
 *   and calls synchronously, and nothing before the middleware waits on I/O), so
 *   that is its own message. The write is the ws.send() of the reply: the reply's
 *   data object is remembered when the procedure returns, the encoder sees it
 *   again inside the response it encodes (our transformer keeps plain JSON as the
 *   same object: { json: data }), and the socket's send right after encoding
 *   closes the record. A reply whose data is not an object (or not plain JSON)
 *   closes it when the procedure returns: serialization and the write are then
 *   not counted (a few microseconds for such small replies).
 */

type Record = (transport: "http" | "ws", seconds: number) => void;

const awaitingEncode = new WeakMap<object, { timing: CallTiming; record: Record }>();
/** Set by encodeReply, taken by the send that follows it at once (tRPC: client.send(encoder.encode(...))). */
let encodedJustNow: { timing: CallTiming; record: Record } | undefined;

const ownSeconds = (timing: CallTiming, endedAt: number) =>
  Math.max(0, endedAt - timing.arrivedAt - timing.backendMs) / 1000;

/** The clock of one HTTP request: arrival now; every call settles when the response has been written. */
export function httpCallClock(res: { once(event: "finish", listener: () => void): unknown }): CallClock {
  const arrivedAt = performance.now();
  let settled: Array<{ timing: CallTiming; record: Record }> | undefined;
  return {
    arrivedAt: () => arrivedAt,
    settle(timing, _data, record) {
      if (!settled) {
        const calls: Array<{ timing: CallTiming; record: Record }> = [];
        settled = calls;
        res.once("finish", () => {
          const now = performance.now();
          for (const call of calls) call.record("http", ownSeconds(call.timing, now));
        });
      }
      settled.push({ timing, record });
    },
  };
}

/** The clock of one tRPC WebSocket: its last message's arrival; replies settle at their send. */
export function wsCallClock(socket: {
  prependListener(event: "message", listener: () => void): unknown;
  send: (...args: never[]) => void;
}): CallClock {
  let lastMessageAt = performance.now();
  socket.prependListener("message", () => {
    lastMessageAt = performance.now();
  });
  const send = socket.send.bind(socket) as (...args: unknown[]) => void;
  (socket as unknown as { send: (...args: unknown[]) => void }).send = (...args: unknown[]) => {
    const encoded = encodedJustNow;
    encodedJustNow = undefined;
    send(...args);
    if (encoded) encoded.record("ws", ownSeconds(encoded.timing, performance.now()));
  };
  return {
    arrivedAt: () => lastMessageAt,
    settle(timing, data, record) {
      if (typeof data === "object" && data !== null) awaitingEncode.set(data, { timing, record });
      else record("ws", ownSeconds(timing, performance.now()));
    },
  };
}

/** Called by the ws encoder with each response it encodes: finds a reply whose call is waiting for its write. */
export function noteEncodedReply(response: unknown): void {
  const data = (response as { result?: { data?: { json?: unknown } } } | null)?.result?.data?.json;
  if (typeof data !== "object" || data === null) return;
  const waiting = awaitingEncode.get(data);
  if (!waiting) return;
  awaitingEncode.delete(data);
  encodedJustNow = waiting;
}

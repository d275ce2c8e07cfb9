import type { Socket } from "zeromq";
import type { MdpLogger } from "./logger.js";

/** One warning per socket per this many ms: libzmq retries a failing handshake every reconnect interval. */
const WARN_EVERY_MS = 10_000;

/**
 * Counts and logs the CURVE handshakes a client-side socket (our client, worker, the
 * gateway's SUB) fails. From the connecting side the two causes look like this:
 * the server refused our key (ZAP status 400: "handshake:error:auth"), or the server
 * could not decrypt our HELLO because it does not hold the key we pinned (it hangs
 * up: "handshake:error:other" EPIPE), which is also what an impostor looks like.
 */
export function watchCurveHandshakes(
  socket: Socket,
  endpoint: string,
  logger: MdpLogger,
  what: string,
  onFailure: () => void,
): void {
  let lastWarned = 0;
  let suppressed = 0;
  const failed = (why: string, detail: object): void => {
    onFailure();
    const now = Date.now();
    if (now - lastWarned < WARN_EVERY_MS) {
      suppressed++;
      return;
    }
    lastWarned = now;
    logger.warn({ endpoint, ...detail, similarSinceLastLog: suppressed }, `${what}: CURVE handshake failed: ${why}`);
    suppressed = 0;
  };
  socket.events.on("handshake:error:auth", (event) =>
    failed("the server refused our key (not on its allow-list)", { status: event.error.status }),
  );
  socket.events.on("handshake:error:other", (event) =>
    failed("the server hung up: it does not hold the pinned server key, or is not a CURVE server", {
      error: event.error.code,
    }),
  );
  socket.events.on("handshake:error:protocol", (event) =>
    failed("protocol error (a server without CURVE, or a corrupted handshake)", { error: event.error.code }),
  );
}

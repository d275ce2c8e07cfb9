import type { Socket as EngineSocket } from "engine.io";
import { batchWrites } from "../http/batched-writes.js";
import type { WatchedClient } from "../http/slow-clients.js";

interface EnginePacket {
  data?: unknown;
}

/** The part of the `ws` socket under engine.io's websocket transport that is read here. */
interface RawWebSocket {
  bufferedAmount: number;
  terminate(): void;
  send: (...args: never[]) => void;
}

const bytesOf = (packet: EnginePacket): number =>
  typeof packet.data === "string" ? packet.data.length : packet.data instanceof Uint8Array ? packet.data.byteLength : 0;

/**
 * How full one socket.io client's send path is, for the stream layer's
 * backpressure and the slow-client watchdog: engine.io keeps packets in its own
 * write buffer while the transport is busy (the websocket transport sends the next
 * batch only once `ws` has written the last one to the kernel; polling holds them
 * until the client polls), and `ws` buffers what the kernel has not taken. The first
 * is counted as packets are created and flushed (string length: a close bound for
 * the JSON the gateway sends), the second read from `ws`.
 *
 * engine.io keeps the transport's `ws` socket private; it is read (bufferedAmount)
 * and used (terminate) here only, through the narrow type above.
 */
export function engineConnection(conn: EngineSocket): WatchedClient {
  let pending = 0;
  conn.on("packetCreate", (packet: EnginePacket) => {
    pending += bytesOf(packet);
  });
  conn.on("flush", (packets: EnginePacket[]) => {
    for (const packet of packets) pending -= bytesOf(packet);
  });
  const rawWebSocket = (): RawWebSocket | undefined =>
    conn.transport.name === "websocket" ? (conn.transport as unknown as { socket?: RawWebSocket }).socket : undefined;
  // A burst of packets in one write (batched-writes.ts), from the start or once upgraded from polling.
  const batchSocketWrites = () => {
    const ws = rawWebSocket();
    if (ws) batchWrites(ws);
  };
  batchSocketWrites();
  conn.on("upgrade", batchSocketWrites);
  return {
    bufferedAmount: () => pending + (rawWebSocket()?.bufferedAmount ?? 0),
    terminate() {
      // ws's close() would wait behind the full buffer for its closing handshake.
      rawWebSocket()?.terminate();
      conn.close(true);
    },
  };
}

import { Decoder, Encoder, PacketType } from "socket.io-parser";
import { isSharedEventData, sharedJsonText } from "../shared-events.js";
import { isPlainSharedData } from "../transformer.js";

/*
 * socket.io's parser, with the packet of an update whose data is a shared event
 * (shared-events.ts) written around the event's JSON text, made once per event:
 * the stock encoder walks the data for binary (hasBinary) and JSON.stringifies it
 * for every connection that receives it. An update is `socket.emit(event, data,
 * eventId)`: the packet `2["<event>",<data>,"<eventId>"]` (namespace "/", no ack).
 * Everything else goes to the stock encoder; the decoder is the stock one.
 */
class SharedEventEncoder extends Encoder {
  override encode(packet: Parameters<Encoder["encode"]>[0]): ReturnType<Encoder["encode"]> {
    const data = packet.data as unknown;
    if (
      packet.type === PacketType.EVENT &&
      (packet.nsp === undefined || packet.nsp === "/") &&
      packet.id == null &&
      Array.isArray(data) &&
      data.length === 3 &&
      typeof data[0] === "string" &&
      typeof data[2] === "string" &&
      isSharedEventData(data[1]) &&
      // Plain JSON: no binary attachment, and JSON.stringify is what the stock encoder would write.
      isPlainSharedData(data[1])
    ) {
      return [`${PacketType.EVENT}[${JSON.stringify(data[0])},${sharedJsonText(data[1])},${JSON.stringify(data[2])}]`];
    }
    return super.encode(packet);
  }
}

/** The `parser` option of socket.io's Server. */
export const sharedEventParser = { Encoder: SharedEventEncoder, Decoder };

import type { Dealer, Router } from "zeromq";
import type { MdpLogger } from "./logger.js";

/**
 * One reader per socket, for its whole life. A failing receive (other than the
 * socket closing) or a throwing handler is logged and the loop goes on: one
 * bad message must not silence a socket.
 */
export async function readLoop(
  socket: Dealer | Router,
  onMessage: (msg: Buffer[]) => void,
  logger: MdpLogger,
  what: string,
  stillWanted: () => boolean = () => true,
): Promise<void> {
  for (;;) {
    let msg: Buffer[];
    try {
      msg = await socket.receive();
    } catch (err) {
      if (socket.closed || !stillWanted()) return;
      logger.error({ err }, `${what}: receive failed`);
      await new Promise((r) => setTimeout(r, 10));
      continue;
    }
    if (!stillWanted()) return;
    try {
      onMessage(msg);
    } catch (err) {
      logger.error({ err }, `${what}: message handling failed`);
    }
  }
}

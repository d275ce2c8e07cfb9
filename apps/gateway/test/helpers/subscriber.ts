import { createNativeCodec } from "@desk/pickle";
import { PubSubscriber } from "../../src/backend/subscriber.js";
import { createLogger } from "../../src/logger.js";
import type { Metrics } from "../../src/metrics.js";

/** A started SUB socket on `pubUrl` (native codec, silent, 100 events replayable, no linger); close() it. */
export function startSubscriber(pubUrl: string, metrics: Metrics): PubSubscriber {
  const subscriber = new PubSubscriber({
    url: pubUrl,
    codec: createNativeCodec(),
    logger: createLogger("silent"),
    metrics,
    replayBufferSize: 100,
    lingerMs: 0,
  });
  subscriber.start();
  return subscriber;
}

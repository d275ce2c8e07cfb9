import { dumps } from "@desk/pickle";
import { type MdpLogger, ZapHandler, type ZapStats } from "@desk/mdp";
import { Context, Publisher } from "zeromq";
import type { Clock } from "./time.js";

/**
 * The trading system's PUB socket: two-frame messages [topic, pickle(event)],
 * each event stamped with a per-topic increasing `seq` and an ISO `ts`.
 *
 * zeromq.js allows one pending send() per socket (a second throws EBUSY), so
 * messages go through a queue drained by one loop. PUB never blocks (it drops at
 * the high-water mark), so the queue only holds a tick's burst; it is bounded
 * anyway, dropping the oldest, so a stuck socket cannot grow memory.
 */
export interface EventPublisher {
  readonly url: string;
  publish(topic: string, body: Record<string, unknown>): void;
  stats(): { published: number; dropped: number; queued: number; curve: ZapStats | undefined };
  close(): Promise<void>;
}

const MAX_QUEUE = 50_000;
const SUBSCRIBER_DOMAIN = "pub-subscribers";

/**
 * CURVE: the publisher's secret key, and the subscriber keys its ZAP handler admits.
 * Encryption alone would not stop eavesdropping: anyone may make a key pair, and the
 * server key is public. The allow-list is what keeps the stream to the gateway.
 */
export interface PublisherCurve {
  secretKey: string;
  subscribers: readonly string[];
}

export async function createPublisher(o: {
  endpoint: string;
  clock: Clock;
  logger: MdpLogger;
  curve?: PublisherCurve;
}): Promise<EventPublisher> {
  let zap: ZapHandler | undefined;
  let socket: Publisher;
  if (o.curve === undefined) {
    socket = new Publisher({ linger: 0, sendHighWaterMark: 100_000 });
  } else {
    // A context of its own: libzmq allows one ZAP handler per context, and the broker has its own.
    const context = new Context();
    zap = new ZapHandler(context, o.logger);
    zap.allow(SUBSCRIBER_DOMAIN, o.curve.subscribers);
    await zap.start();
    socket = new Publisher({
      context,
      linger: 0,
      sendHighWaterMark: 100_000,
      curveServer: true,
      curveSecretKey: o.curve.secretKey,
      zapDomain: SUBSCRIBER_DOMAIN,
      zapEnforceDomain: true,
    });
  }
  try {
    await socket.bind(o.endpoint);
  } catch (err) {
    socket.close();
    await zap?.close();
    throw err;
  }
  const url = socket.lastEndpoint ?? o.endpoint;
  const seqs = new Map<string, number>();
  let queue: Array<[string, Buffer]> = [];
  let draining = false;
  let closed = false;
  const counters = { published: 0, dropped: 0 };

  const drain = async (): Promise<void> => {
    draining = true;
    try {
      while (queue.length > 0 && !closed) {
        const batch = queue;
        queue = [];
        for (const msg of batch) {
          if (closed) return;
          await socket.send(msg);
          counters.published++;
        }
      }
    } catch (err) {
      if (!closed) o.logger.error({ err }, "publisher: send failed");
    } finally {
      draining = false;
    }
  };

  return {
    url,
    publish(topic, body) {
      if (closed) return;
      const seq = (seqs.get(topic) ?? 0) + 1;
      seqs.set(topic, seq);
      queue.push([topic, dumps({ ...body, seq, ts: o.clock() })]);
      if (queue.length > MAX_QUEUE) {
        const excess = queue.length - MAX_QUEUE;
        queue.splice(0, excess);
        counters.dropped += excess;
      }
      if (!draining) void drain();
    },
    stats: () => ({ ...counters, queued: queue.length, curve: zap?.stats() }),
    async close() {
      if (closed) return;
      closed = true;
      queue = [];
      socket.close();
      await zap?.close();
    },
  };
}

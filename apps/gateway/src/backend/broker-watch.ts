import type { Logger } from "../logger.js";
import { isListening } from "./probe.js";

/**
 * Whether any broker is listening, as far as a TCP connect can tell: "down" only when
 * every endpoint is a tcp:// one and none accepts a connection (ipc:// and inproc://
 * cannot be probed, so a list with one of those is never "down").
 *
 * While the broker is known to be down, calls fail at once with a 503 naming it
 * instead of waiting out ZMQ_TIMEOUT x ZMQ_RETRIES, and the endpoints are probed again
 * every `probeMs` until one answers. Nothing is probed while the broker is up (a TCP
 * connect to a ZeroMQ ROUTER is a connection the broker has to notice): a call that
 * times out asks for a check (recheck), which is how "down" is found after start.
 */
export interface BrokerWatch {
  /** The broker URL as configured, for messages ("the broker at tcp://... is unreachable"). */
  readonly brokerUrl: string;
  isDown(): boolean;
  /** Probes now; true when the broker is known to be down. */
  recheck(): Promise<boolean>;
  close(): void;
}

export function createBrokerWatch(o: {
  brokerUrl: string;
  probeMs: number;
  logger: Logger;
  /** How long a probe may take, ms. */
  probeTimeoutMs?: number;
}): BrokerWatch {
  const endpoints = o.brokerUrl
    .split(",")
    .map((e) => e.trim())
    .filter((e) => e.length > 0);
  const probeable = endpoints.every((e) => e.startsWith("tcp://"));
  const timeout = o.probeTimeoutMs ?? 300;
  let down = false;
  let timer: NodeJS.Timeout | undefined;
  let checking: Promise<boolean> | undefined;
  let closed = false;

  async function probe(): Promise<boolean> {
    if (!probeable) return false;
    const answers = await Promise.all(endpoints.map((e) => isListening(e, timeout)));
    return !answers.some(Boolean);
  }

  function setDown(now: boolean): void {
    if (now === down || closed) return;
    down = now;
    if (now) {
      o.logger.warn(
        { brokerUrl: o.brokerUrl, probeMs: o.probeMs },
        "no broker is listening: calls fail at once with 503 until one does (probing in the background)",
      );
      timer = setInterval(() => void recheck(), o.probeMs);
      timer.unref();
    } else {
      o.logger.info({ brokerUrl: o.brokerUrl }, "the broker is listening again");
      clearInterval(timer);
      timer = undefined;
    }
  }

  function recheck(): Promise<boolean> {
    checking ??= probe()
      .then((isDown) => {
        setDown(isDown);
        return isDown;
      })
      .finally(() => {
        checking = undefined;
      });
    return checking;
  }

  return {
    brokerUrl: o.brokerUrl,
    isDown: () => down,
    recheck,
    close() {
      closed = true;
      clearInterval(timer);
    },
  };
}

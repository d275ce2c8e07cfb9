import type { MdpBrokerStats } from "@desk/mdp";
import { isListening } from "./probe.js";
import type { Logger } from "../logger.js";

/** ZeroMQ binds to an interface address, not a host name: "localhost" becomes 127.0.0.1. */
export function bindable(endpoint: string): string {
  return endpoint.replace(/^tcp:\/\/localhost:/, "tcp://127.0.0.1:");
}

type StartMockBackend = (o: {
  brokerEndpoint?: string;
  pubEndpoint?: string;
  tickMs?: number;
  heartbeatInterval?: number;
  logger?: Logger;
}) => Promise<MockBackendHandle>;

export interface MockBackendHandle {
  brokerUrl: string;
  pubUrl: string;
  /** The mock broker's counters (queues, joins, withdrawals, undelivered answers), for /health and /metrics. */
  brokerStats(): MdpBrokerStats;
  close(): Promise<void>;
}

/**
 * USE_MOCK_ZMQ: start @desk/mock-broker in this process unless a broker already
 * answers on brokerUrl (a mock started by hand, or a real one). Loaded lazily so
 * production never loads the mock's code.
 */
export async function startMockIfNeeded(o: {
  brokerUrl: string;
  pubUrl: string;
  heartbeatInterval: number;
  tickMs: number | undefined;
  logger: Logger;
}): Promise<MockBackendHandle | undefined> {
  const first = o.brokerUrl.split(",")[0]!.trim();
  if (await isListening(first)) {
    o.logger.info({ brokerUrl: first }, "USE_MOCK_ZMQ: a broker is already listening; not starting the mock");
    return undefined;
  }
  // A computed specifier keeps the mock out of the gateway's type graph and bundle:
  // it is a devDependency, present in the workspace and absent from a production install.
  const specifier = "@desk/mock-broker";
  const { startMockBackend } = (await import(specifier)) as { startMockBackend: StartMockBackend };
  const mock = await startMockBackend({
    brokerEndpoint: bindable(first),
    pubEndpoint: bindable(o.pubUrl),
    heartbeatInterval: o.heartbeatInterval,
    ...(o.tickMs !== undefined ? { tickMs: o.tickMs } : {}),
    logger: o.logger.child({ component: "mock-backend" }),
  });
  o.logger.warn(
    { brokerUrl: mock.brokerUrl, pubUrl: mock.pubUrl },
    "USE_MOCK_ZMQ: started the in-process mock backend",
  );
  return mock;
}

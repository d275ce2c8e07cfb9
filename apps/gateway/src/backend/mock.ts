import { type CurveKeyPair, type MdpBrokerStats, generateCurveKeyPair } from "@desk/mdp";
import { ConfigError } from "../config.js";
import type { Logger } from "../logger.js";
import { isListening } from "./probe.js";

/** ZeroMQ binds to an interface address, not a host name: "localhost" becomes 127.0.0.1. */
export function bindable(endpoint: string): string {
  return endpoint.replace(/^tcp:\/\/localhost:/, "tcp://127.0.0.1:");
}

type StartMockBackend = (o: {
  brokerEndpoint?: string;
  pubEndpoint?: string;
  tickMs?: number;
  heartbeatInterval?: number;
  curve?: { secretKey: string; publisherSecretKey: string; clients: string[] };
  logger?: Logger;
}) => Promise<MockBackendHandle>;

export interface MockBackendHandle {
  brokerUrl: string;
  pubUrl: string;
  /** The mock broker's counters (queues, joins, withdrawals, undelivered answers), for /health and /metrics. */
  /** The public keys to pin, when the mock runs CURVE. */
  curve: { brokerKey: string; publisherKey: string } | undefined;
  brokerStats(): MdpBrokerStats;
  close(): Promise<void>;
}

/**
 * How the in-process mock does CURVE: "off"; "fresh" (MOCK_CURVE: new broker and
 * publisher keys each start, pinned by this gateway, whose own `clientKeys` are the
 * only client admitted); "pinned" (ZMQ_CURVE_SERVER_KEY is set: only the broker
 * holding that key will do, and this process does not hold it, so it starts no mock).
 */
export type MockCurve = { mode: "off" } | { mode: "fresh"; clientKeys: CurveKeyPair } | { mode: "pinned" };

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
  curve?: MockCurve;
  logger: Logger;
}): Promise<MockBackendHandle | undefined> {
  const first = o.brokerUrl.split(",")[0]!.trim();
  if (await isListening(first)) {
    o.logger.info({ brokerUrl: first }, "USE_MOCK_ZMQ: a broker is already listening; not starting the mock");
    return undefined;
  }
  const curve = o.curve ?? { mode: "off" };
  if (curve.mode === "pinned") {
    const refused = new ConfigError("ZMQ_CURVE_SERVER_KEY", undefined, "");
    refused.message =
      `Invalid ZMQ_CURVE_SERVER_KEY: no broker listens on ${first}, and the gateway cannot start a mock that holds ` +
      "the pinned key's secret: start the broker first (pnpm keys prints how), or set MOCK_CURVE=true without ZMQ_CURVE_* for an in-process mock on fresh keys";
    throw refused;
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
    ...(curve.mode === "fresh"
      ? {
          curve: {
            secretKey: generateCurveKeyPair().secretKey,
            publisherSecretKey: generateCurveKeyPair().secretKey,
            clients: [curve.clientKeys.publicKey],
          },
        }
      : {}),
    logger: o.logger.child({ component: "mock-backend" }),
  });
  o.logger.warn(
    { brokerUrl: mock.brokerUrl, pubUrl: mock.pubUrl, curve: mock.curve },
    "USE_MOCK_ZMQ: started the in-process mock backend",
  );
  return mock;
}

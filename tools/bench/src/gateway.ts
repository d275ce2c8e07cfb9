import { startGateway } from "@desk/gateway";

/** A gateway tuned for measuring, not for protecting: rate limits out of the way, logs off. */
export function startBenchGateway(o: { brokerUrl: string; pubUrl: string }) {
  return startGateway({
    port: 0,
    host: "127.0.0.1",
    brokerUrl: o.brokerUrl,
    pubUrl: o.pubUrl,
    useMock: false,
    jwtSecret: "bench-secret-at-least-16-characters",
    logLevel: "silent",
    zmqTimeout: 10_000,
    zmqRetries: 1,
    heartbeatInterval: 2_500,
    rateLimit: { userCapacity: 1e9, userRefillPerSec: 1e9, ipCapacity: 1e9, ipRefillPerSec: 1e9 },
  });
}

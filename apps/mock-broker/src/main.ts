import pino from "pino";
import { startMockBackend } from "./backend.js";
import { ConfigError, loadConfig } from "./config.js";

/** `node dist/main.js`: the mock trading system as a process, configured by the environment. */
async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`mock-broker: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = pino({ name: "mock-broker", level: config.logLevel });
  const backend = await startMockBackend({
    brokerEndpoint: config.brokerEndpoint,
    pubEndpoint: config.pubEndpoint,
    seed: config.seed,
    tickMs: config.tickMs,
    fillMs: config.fillMs,
    heartbeatInterval: config.heartbeatInterval,
    curve: config.curve,
    logger,
  });
  logger.info(
    { broker: backend.brokerUrl, pub: backend.pubUrl, workers: backend.workerUrls, curve: backend.curve },
    backend.curve === undefined
      ? "mock trading system ready (CURVE off: anyone who reaches these ports can serve or read)"
      : "mock trading system ready (CURVE on)",
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    // A second signal or a stuck close must not leave the process hanging.
    setTimeout(() => process.exit(1), 5000).unref();
    backend.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, "close failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`mock-broker: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

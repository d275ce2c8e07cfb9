import { randomBytes } from "node:crypto";
import { type CurveKeyPair, MdpClient, generateCurveKeyPair } from "@desk/mdp";
import { createAuditLog } from "./audit.js";
import { createJwt } from "./auth/jwt.js";
import { createPermissionCache } from "./auth/permissions.js";
import { createRevocationWatch } from "./auth/revocation.js";
import { createSessions } from "./auth/sessions.js";
import { createBrokerWatch } from "./backend/broker-watch.js";
import { type MockBackendHandle, startMockIfNeeded } from "./backend/mock.js";
import { createBackendRpc } from "./backend/rpc.js";
import { PubSubscriber } from "./backend/subscriber.js";
import { createCodec } from "./backend/codec.js";
import { ConfigError, type GatewayConfig, loadConfig } from "./config.js";
import { createHealthCheck } from "./health.js";
import { createGatewayServer } from "./http/server.js";
import { createLogger } from "./logger.js";
import {
  createMetrics,
  registerBrokerDown,
  registerCurveStats,
  registerMdpStats,
  registerMockBrokerStats,
} from "./metrics.js";
import { logPoolFigures } from "./pool-log.js";
import { createLimits } from "./rate-limit.js";
import { settled } from "./settled.js";
import type { GatewayRuntime, Lifecycle } from "./runtime.js";

/** A started gateway. */
export interface RunningGateway {
  /** http://host:port (tRPC at /trpc, REST at /api/v1). */
  url: string;
  /** ws://host:port/trpc */
  wsUrl: string;
  port: number;
  /** The broker and PUB endpoints actually used (the mock's, when it was started). */
  brokerUrl: string;
  pubUrl: string;
  /**
   * Graceful: reconnect notice to WebSocket clients, refuse new calls, let those in flight
   * finish for the grace period, then answer the rest (writes still queued at the broker
   * withdrawn, the others' outcome unknown; reads 503), write every answer, close everything.
   */
  close(): Promise<void>;
}

const DEV_JWT_SECRET = "desk-gateway-dev-secret-do-not-use-in-production";

function missingSecret(why: string): ConfigError {
  return new ConfigError("JWT_SECRET", undefined, `a secret of at least 16 characters (${why})`);
}

/** The keys this gateway's broker and SUB sockets use: configured, or the in-process mock's fresh ones. */
function transportCurve(
  config: GatewayConfig,
  mock: MockBackendHandle | undefined,
  mockClientKeys: CurveKeyPair | undefined,
): { pair: CurveKeyPair; brokerKeys: string[]; publisherKey: string } | undefined {
  if (config.curve !== undefined) {
    const { publicKey, secretKey, serverKeys, publisherKey } = config.curve;
    return { pair: { publicKey, secretKey }, brokerKeys: serverKeys, publisherKey };
  }
  if (mock?.curve !== undefined && mockClientKeys !== undefined) {
    return { pair: mockClientKeys, brokerKeys: [mock.curve.brokerKey], publisherKey: mock.curve.publisherKey };
  }
  return undefined;
}

function resolveConfig(overrides: Partial<GatewayConfig>): GatewayConfig {
  const base = loadConfig({});
  return {
    ...base,
    ...overrides,
    rateLimit: { ...base.rateLimit, ...overrides.rateLimit },
  };
}

/** How long, after the grace period, the broker may take to withdraw what is queued, and the answers to be written. */
const ANSWER_ALL_MS = 2_000;

/**
 * Starts the gateway: broker client, SUB socket, routers, one HTTP server with
 * WebSocket on the same port. Options not given take their defaults (the
 * environment is read only by loadConfig, which main.ts passes in).
 */
export async function startGateway(overrides: Partial<GatewayConfig> = {}): Promise<RunningGateway> {
  const config = resolveConfig(overrides);
  const logger = createLogger(config.logLevel);

  if (!config.jwtSecret && !config.useMock) throw missingSecret("required when USE_MOCK_ZMQ=false");

  const cleanups: Array<() => Promise<void> | void> = [];
  const cleanup = async () => {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        logger.warn({ err: String(err) }, "error while closing");
      }
    }
  };

  try {
    let brokerUrl = config.brokerUrl;
    let pubUrl = config.pubUrl;
    let mock: MockBackendHandle | undefined;
    // MOCK_CURVE: this process's own pair for an in-process mock on fresh keys.
    const mockClientKeys: CurveKeyPair | undefined = config.mockCurve ? generateCurveKeyPair() : undefined;
    if (config.useMock) {
      mock = await startMockIfNeeded({
        brokerUrl,
        pubUrl,
        heartbeatInterval: config.heartbeatInterval,
        tickMs: config.mockTickMs,
        curve:
          config.curve !== undefined
            ? { mode: "pinned" }
            : mockClientKeys !== undefined
              ? { mode: "fresh", clientKeys: mockClientKeys }
              : { mode: "off" },
        logger,
      });
      if (mock) {
        const started = mock;
        cleanups.push(() => started.close());
        brokerUrl = mock.brokerUrl;
        pubUrl = mock.pubUrl;
      }
    }

    // Decided only now: the public dev secret is safe only against the in-process mock.
    // USE_MOCK_ZMQ with a broker already listening means a backend we did not start,
    // possibly a real one, and a known secret would let anyone mint an admin token for it.
    let jwtSecret = config.jwtSecret;
    if (!jwtSecret) {
      if (!mock) {
        throw missingSecret(
          "required unless the gateway starts its in-process mock; a broker is already listening on ZMQ_BROKER_URL",
        );
      }
      logger.warn("JWT_SECRET is not set: using the built-in development secret (in-process mock only)");
      jwtSecret = DEV_JWT_SECRET;
    }

    const curve = transportCurve(config, mock, mockClientKeys);
    if (curve === undefined && mock === undefined) {
      // Once, at start: anyone who reaches the broker could register as auth_service and mint tokens.
      logger.warn(
        { brokerUrl, pubUrl },
        "CURVE is off: any process that reaches the broker can register as a service (auth_service included) and answer for it, and the traffic is readable; set ZMQ_CURVE_SERVER_KEY and the gateway's keys (README, Security)",
      );
    }

    const codec = await createCodec(config);
    cleanups.push(() => codec.close());

    const metrics = createMetrics({ defaultMetrics: true });
    // The mock's workers answer a repeated requestId from their reply cache; anything else
    // is assumed not to, unless ZMQ_DEDUPE_WRITES says so.
    const dedupeWrites = config.dedupeWrites ?? mock !== undefined;
    let onLateReply: (late: { requestId: string; service: string; reply: Buffer }) => void = () => {};
    const client = new MdpClient({
      endpoints: brokerUrl,
      timeout: config.zmqTimeout,
      retries: config.zmqRetries,
      idPrefix: `gw-${process.pid}-${randomBytes(3).toString("hex")}`,
      ...(curve === undefined ? {} : { curve: { ...curve.pair, serverKey: curve.brokerKeys } }),
      logger: logger.child({ component: "mdp" }),
      onLateReply: (late) => onLateReply(late),
    });
    cleanups.push(() => client.close());
    registerMdpStats(metrics, () => ({ ...client.stats() }));
    const poolLog = logPoolFigures({
      stats: () => ({ ...client.stats() }),
      logger: logger.child({ component: "mdp" }),
      intervalMs: config.poolLogIntervalMs,
    });
    cleanups.push(() => poolLog.stop());
    if (mock) {
      const started = mock;
      registerMockBrokerStats(metrics, () => started.brokerStats());
    }
    const broker = createBrokerWatch({ brokerUrl, probeMs: config.brokerProbeMs, logger });
    cleanups.push(() => broker.close());
    registerBrokerDown(metrics, () => broker.isDown());
    // Warns now, and from then on fails calls at once, if no broker is listening.
    await broker.recheck();

    const subscriber = new PubSubscriber({
      url: pubUrl,
      codec,
      logger: logger.child({ component: "pubsub" }),
      metrics,
      replayBufferSize: config.replayBufferSize,
      lingerMs: config.topicLingerMs,
      ...(curve === undefined ? {} : { curve: { ...curve.pair, serverKey: curve.publisherKey } }),
    });
    subscriber.start();
    cleanups.push(() => subscriber.close());
    const brokerCurve = mock === undefined ? undefined : () => mock.brokerStats().curve;
    registerCurveStats(metrics, () => ({
      pubsubHandshakeFailures: subscriber.status().handshakeFailures,
      broker: brokerCurve?.(),
    }));

    const rpc = createBackendRpc({
      client,
      codec,
      logger,
      metrics,
      timeout: config.zmqTimeout,
      retries: config.zmqRetries,
      dedupeWrites,
      broker,
      writeMemory: { ...config.clientOrderMemory, events: subscriber },
    });
    cleanups.push(() => rpc.close());
    onLateReply = (late) => {
      rpc.lateReply(late).catch((err: unknown) => logger.warn({ err: String(err) }, "could not read a late reply"));
    };
    const jwt = createJwt({ secret: jwtSecret, ttlSeconds: config.jwtTtlSeconds });
    const permissions = createPermissionCache({
      ttlMs: config.permissionsCacheMs,
      fetch: (userId) => rpc.call("auth_service", "get_user_permissions", [userId], { userId }),
    });
    const sessions = createSessions({ ttlMs: config.sessionTtlSeconds * 1000, maxEntries: config.maxSessions });
    const revocations = createRevocationWatch({
      sessions,
      permissions,
      intervalMs: config.permissionsCacheMs,
      logger: logger.child({ component: "auth" }),
    });
    cleanups.push(() => revocations.close());
    const audit = createAuditLog({ path: config.auditLog, logger });
    // Pushed before the server's cleanup, so it runs after it: the last answers' lines are written first.
    cleanups.push(() => audit.close());
    const lifecycle: Lifecycle = { draining: false, inFlight: 0 };
    let wsClients = () => 0;
    let socketIoClients = () => 0;
    const health = createHealthCheck({
      rpc,
      client,
      subscriber,
      brokerUrl,
      broker,
      dedupeWrites,
      mock: mock !== undefined,
      mockBrokerStats: mock ? mock.brokerStats : undefined,
      pickleCodec: codec.kind,
      wsClients: () => wsClients(),
      brokerCurve,
      socketIoClients: () => socketIoClients(),
      cacheMs: config.healthCacheMs,
    });
    const runtime: GatewayRuntime = {
      config,
      logger,
      metrics,
      rpc,
      subscriber,
      jwt,
      permissions,
      sessions,
      revocations,
      audit,
      limits: createLimits(config),
      health,
      lifecycle,
    };
    const http = createGatewayServer(runtime);
    wsClients = http.wsClientCount;
    socketIoClients = http.socketIoClientCount;
    cleanups.push(() => http.closeAll(0));
    const port = await http.listen(config.port, config.host);
    const publicHost = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host;
    const hostForUrl = publicHost.includes(":") ? `[${publicHost}]` : publicHost;
    const url = `http://${hostForUrl}:${port}`;
    const wsUrl = `ws://${hostForUrl}:${port}/trpc`;
    logger.info(
      {
        url,
        wsUrl,
        brokerUrl,
        pubUrl,
        mock: mock !== undefined,
        dedupeWrites,
        codec: codec.kind,
        console: config.consoleDir,
      },
      "gateway listening",
    );

    let closing: Promise<void> | undefined;
    const close = () => {
      closing ??= (async () => {
        lifecycle.draining = true;
        http.stopAccepting();
        // Procedures, and backend calls outside one (a subscription's execute).
        const idle = () => lifecycle.inFlight === 0 && rpc.inFlight() === 0;
        if (!idle()) {
          logger.info({ inFlight: lifecycle.inFlight }, "waiting for requests in flight");
          await settled(idle, config.shutdownGraceMs);
        }
        if (!idle()) {
          // Nobody leaves without an answer: what is still queued at the broker is withdrawn
          // (certainly not executed), a write a worker holds ends with its outcome unknown,
          // reads with 503. Each answer is written to its connection before it closes.
          logger.warn(
            { inFlight: lifecycle.inFlight, backendCalls: rpc.inFlight() },
            "grace period over: answering the calls still in flight",
          );
          rpc.beginShutdown();
          await client.close({ withdrawWithin: ANSWER_ALL_MS / 2 });
          await settled(idle, ANSWER_ALL_MS);
        }
        await http.closeAll(ANSWER_ALL_MS);
        await cleanup();
        logger.info("gateway closed");
      })();
      return closing;
    };

    return { url, wsUrl, port, brokerUrl, pubUrl, close };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

import { type ServiceName, serviceNames } from "@desk/contracts";
import {
  type CurveClientKeys,
  type CurveKeyPair,
  MdpBroker,
  type MdpBrokerStats,
  type MdpLogger,
  type MdpWorker,
  curveKeyPairOf,
  generateCurveKeyPair,
} from "@desk/mdp";
import { createMarket, createRng } from "./domain/index.js";
import { createEventSink } from "./events.js";
import { createPublisher } from "./publisher.js";
import type { HandlerTable } from "./rpc-worker.js";
import { startServiceWorker } from "./rpc-worker.js";
import { createAccountService } from "./services/account.js";
import { createAlgorithmService } from "./services/algorithm.js";
import { createAuthService } from "./services/auth.js";
import { createInstructionService } from "./services/instruction.js";
import { startSimulation } from "./simulation.js";
import { createAccountStore } from "./state/accounts.js";
import { createAlgorithmStore } from "./state/algorithms.js";
import { createExecutionStore } from "./state/executions.js";
import { createUserStore } from "./state/users.js";
import { systemClock } from "./time.js";
import { unrealizedPnl } from "./valuation.js";

export interface MockBackendOptions {
  /** Where the MDP broker binds; default "tcp://127.0.0.1:*" (an OS-chosen port). */
  brokerEndpoint?: string;
  /** Where the PUB socket binds; default "tcp://127.0.0.1:*". */
  pubEndpoint?: string;
  /** Same seed, same market and positions; default 1. */
  seed?: number;
  /** Market tick (prices, account and algorithm events), ms; default 5000. */
  tickMs?: number;
  /** Execution fill step, ms; default min(tickMs, 1000). */
  fillMs?: number;
  /** MDP heartbeat of the broker and workers, ms; default 2500. */
  heartbeatInterval?: number;
  /** CURVE on the broker and the publisher, with allow-lists (see README, "CURVE"). */
  curve?: MockCurveOptions;
  logger?: MdpLogger;
}

export interface MockCurveOptions {
  /** The broker's secret key (Z85); clients and workers pin its public key. */
  secretKey: string;
  /** The publisher's secret key; default: the broker's. */
  publisherSecretKey?: string;
  /** Public keys admitted as MDP clients by the broker and as subscribers by the publisher (the gateway's). */
  clients: readonly string[];
  /**
   * Public keys of workers outside this process, per service (a Python worker taking
   * part in a service). The mock's own workers get a fresh key pair each start, listed
   * for their service only.
   */
  workers?: Partial<Record<ServiceName, readonly string[]>>;
  /** Where each service's workers register; default tcp://127.0.0.1:* (an OS-chosen port). */
  workerEndpoints?: Partial<Record<ServiceName, string>>;
}

export interface MockBackend {
  /** Resolved broker endpoint with its real port, e.g. tcp://127.0.0.1:40123. */
  brokerUrl: string;
  pubUrl: string;
  /** Under CURVE: where each service's workers register (resolved). */
  workerUrls: Partial<Record<ServiceName, string>>;
  /** Under CURVE: the public keys to pin. */
  curve: { brokerKey: string; publisherKey: string } | undefined;
  /** The broker's counters (queues, joins, undelivered answers, CURVE refusals...), for a /health or /metrics. */
  brokerStats(): MdpBrokerStats;
  close(): Promise<void>;
}

const silent: MdpLogger = { debug() {}, info() {}, warn() {}, error() {} };

function positive(name: string, v: number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (!Number.isFinite(v) || v <= 0)
    throw new TypeError(`startMockBackend: ${name} must be a positive number, got ${String(v)}`);
  return v;
}

/**
 * Starts the whole mock trading system in this process: a real MdpBroker, one
 * MdpWorker per service (pickle payloads, contracts-checked), the PUB socket and
 * the simulation. Everything it opened is closed by close(), also when start fails half-way.
 */
export async function startMockBackend(options: MockBackendOptions = {}): Promise<MockBackend> {
  const logger = options.logger ?? silent;
  const tickMs = positive("tickMs", options.tickMs, 5000);
  const fillMs = positive("fillMs", options.fillMs, Math.min(tickMs, 1000));
  const heartbeatInterval = positive("heartbeatInterval", options.heartbeatInterval, 2500);
  const seed = options.seed ?? 1;
  const clock = systemClock;

  const market = createMarket({ seed });
  // A separate stream for the books, so adding an account does not change the market's path.
  const rng = createRng((seed ^ 0x5eed) >>> 0);
  const users = createUserStore();
  const accounts = createAccountStore(market, rng);
  for (const a of accounts.list()) a.dayStartUnrealized = unrealizedPnl(a, market);
  const algorithms = createAlgorithmStore(rng, clock);

  const closers: Array<() => Promise<void>> = [];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.splice(0).reverse())
      await close().catch((err) => logger.warn({ err }, "mock backend: close failed"));
  };

  const curve = options.curve === undefined ? undefined : curveSetup(options.curve);

  try {
    const broker = new MdpBroker({ heartbeatInterval, logger, curve: curve?.broker });
    closers.push(() => broker.close());
    const brokerUrl = await broker.bind(options.brokerEndpoint ?? "tcp://127.0.0.1:*");
    const workerUrls: Partial<Record<ServiceName, string>> = {};
    if (curve !== undefined) {
      for (const service of serviceNames) {
        const endpoint = options.curve?.workerEndpoints?.[service] ?? "tcp://127.0.0.1:*";
        workerUrls[service] = await broker.bindWorkers(service, endpoint);
      }
    }

    const publisher = await createPublisher({
      endpoint: options.pubEndpoint ?? "tcp://127.0.0.1:*",
      clock,
      logger,
      curve:
        curve === undefined ? undefined : { secretKey: curve.publisher.secretKey, subscribers: curve.broker.clients },
    });
    closers.push(() => publisher.close());
    const events = createEventSink(publisher, market, clock);
    const executions = createExecutionStore({
      market,
      clock,
      onChange: (e) => events.execution(e),
      onFill: (accountId, code, lots, price) => accounts.applyFill(accountId, code, lots, price),
    });

    const services: Record<ServiceName, HandlerTable> = {
      auth_service: createAuthService(users),
      account_service: createAccountService({ accounts, market, clock, events }),
      algorithm_service: createAlgorithmService(algorithms, events),
      instruction_service: createInstructionService({ market, accounts, executions }),
    };
    const workers: MdpWorker[] = [];
    for (const [service, handlers] of Object.entries(services) as Array<[ServiceName, HandlerTable]>) {
      const worker = await startServiceWorker({
        endpoint: workerUrls[service] ?? brokerUrl,
        service,
        handlers,
        logger,
        heartbeatInterval,
        curve: curve?.ownWorker(service),
      });
      workers.push(worker);
      closers.push(() => worker.close());
    }

    const simulation = startSimulation({ market, accounts, algorithms, executions, events, tickMs, fillMs, logger });
    closers.push(async () => simulation.stop());
    const keys =
      curve === undefined ? undefined : { brokerKey: curve.brokerKey, publisherKey: curve.publisher.publicKey };
    logger.info(
      { brokerUrl, pubUrl: publisher.url, seed, tickMs, fillMs, today: market.today, curve: keys, workerUrls },
      "mock backend started",
    );

    let closing: Promise<void> | undefined;
    return {
      brokerUrl,
      pubUrl: publisher.url,
      workerUrls,
      curve: keys,
      brokerStats: () => broker.stats(),
      close: () => {
        closing ??= closeAll().then(() => logger.info({}, "mock backend closed"));
        return closing;
      },
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/** The broker's allow-lists: the given keys, plus one fresh pair per service for the mock's own workers. */
function curveSetup(o: MockCurveOptions) {
  const own = new Map<ServiceName, CurveKeyPair>(serviceNames.map((service) => [service, generateCurveKeyPair()]));
  const brokerPair = curveKeyPairOf(o.secretKey);
  const publisher = o.publisherSecretKey === undefined ? brokerPair : curveKeyPairOf(o.publisherSecretKey);
  const workers: Record<string, string[]> = {};
  for (const service of serviceNames) {
    workers[service] = [(own.get(service) as CurveKeyPair).publicKey, ...(o.workers?.[service] ?? [])];
  }
  return {
    brokerKey: brokerPair.publicKey,
    publisher,
    broker: { secretKey: brokerPair.secretKey, clients: [...o.clients], workers },
    ownWorker: (service: ServiceName): CurveClientKeys => ({
      ...(own.get(service) as CurveKeyPair),
      serverKey: brokerPair.publicKey,
    }),
  };
}

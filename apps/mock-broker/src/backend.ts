import type { ServiceName } from "@desk/contracts";
import { MdpBroker, type MdpBrokerStats, type MdpLogger, type MdpWorker } from "@desk/mdp";
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
  logger?: MdpLogger;
}

export interface MockBackend {
  /** Resolved broker endpoint with its real port, e.g. tcp://127.0.0.1:40123. */
  brokerUrl: string;
  pubUrl: string;
  /** The broker's counters (queues, joins, undelivered answers...), for a /health or /metrics. */
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

  try {
    const broker = new MdpBroker({ heartbeatInterval, logger });
    closers.push(() => broker.close());
    const brokerUrl = await broker.bind(options.brokerEndpoint ?? "tcp://127.0.0.1:*");

    const publisher = await createPublisher({ endpoint: options.pubEndpoint ?? "tcp://127.0.0.1:*", clock, logger });
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
      const worker = await startServiceWorker({ endpoint: brokerUrl, service, handlers, logger, heartbeatInterval });
      workers.push(worker);
      closers.push(() => worker.close());
    }

    const simulation = startSimulation({ market, accounts, algorithms, executions, events, tickMs, fillMs, logger });
    closers.push(async () => simulation.stop());
    logger.info(
      { brokerUrl, pubUrl: publisher.url, seed, tickMs, fillMs, today: market.today },
      "mock backend started",
    );

    let closing: Promise<void> | undefined;
    return {
      brokerUrl,
      pubUrl: publisher.url,
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

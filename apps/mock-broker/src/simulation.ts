import type { MdpLogger } from "@desk/mdp";
import type { Market } from "./domain/index.js";
import type { EventSink } from "./events.js";
import type { AccountStore } from "./state/accounts.js";
import type { AlgorithmStore } from "./state/algorithms.js";
import type { ExecutionStore } from "./state/executions.js";

/**
 * The heartbeat of the mock: every tickMs the market moves and everything that
 * depends on prices is republished (quotes, account P&L and risk, algorithm
 * progress); every fillMs running executions fill a slice. Two timers, because
 * tests want fast fills without flooding the wire with market data.
 */
export interface SimulationOptions {
  market: Market;
  accounts: AccountStore;
  algorithms: AlgorithmStore;
  executions: ExecutionStore;
  events: EventSink;
  tickMs: number;
  fillMs: number;
  logger: MdpLogger;
}

export interface Simulation {
  /** One market tick, by hand (tests and the first publish). */
  tick(): void;
  stop(): void;
}

export function startSimulation(o: SimulationOptions): Simulation {
  const guarded = (what: string, fn: () => void) => () => {
    try {
      fn();
    } catch (err) {
      // A bug in one tick must not stop the market: log it and carry on.
      o.logger.error({ err }, `simulation: ${what} failed`);
    }
  };
  const tick = (): void => {
    o.market.step();
    o.events.market();
    for (const a of o.accounts.list()) o.events.account(a);
    for (const { algorithm, log } of o.algorithms.advance()) o.events.algorithm(algorithm, log);
  };
  const tickTimer = setInterval(guarded("tick", tick), o.tickMs);
  const fillTimer = setInterval(
    guarded("fill", () => o.executions.fillStep()),
    o.fillMs,
  );
  return {
    tick,
    stop() {
      clearInterval(tickTimer);
      clearInterval(fillTimer);
    },
  };
}

import { type Algorithm, type AlgorithmLog, type Execution, topicOf } from "@desk/contracts";
import type { Market } from "./domain/index.js";
import type { EventPublisher } from "./publisher.js";
import type { AccountRecord } from "./state/accounts.js";
import type { Clock } from "./time.js";
import { round } from "./time.js";
import { accountOf, riskOf } from "./valuation.js";

/** Builds each topic's event body (publisher adds seq and ts) from the mock's state. */
export interface EventSink {
  market(): void;
  account(account: AccountRecord): void;
  algorithm(algorithm: Algorithm, log?: AlgorithmLog): void;
  execution(execution: Execution): void;
}

export function createEventSink(publisher: EventPublisher, market: Market, clock: Clock): EventSink {
  // Options have no previous close in the simulator: the first price seen stands in for it.
  const opens = new Map<string, number>();
  return {
    market() {
      const snap = market.snapshot();
      const change = (code: string, last: number): number => {
        const open = opens.get(code) ?? last;
        if (!opens.has(code)) opens.set(code, last);
        return open > 0 ? round(last / open - 1, 6) : 0;
      };
      const volume = (code: string) => 1000 * snap.tick + (code.charCodeAt(code.length - 1) % 7) * 100;
      for (const u of snap.underlyings) {
        publisher.publish(topicOf("market", u.code), {
          kind: "underlying",
          symbol: u.code,
          name: u.name,
          last: u.last,
          bid: u.bid,
          ask: u.ask,
          volume: volume(u.code),
          change: round(u.changePct / 100, 6),
        });
      }
      for (const q of snap.options) {
        publisher.publish(topicOf("market", q.code), {
          kind: "option",
          symbol: q.code,
          name: q.name,
          last: q.last,
          bid: q.bid,
          ask: q.ask,
          volume: volume(q.code),
          change: change(q.code, q.last),
          underlying: q.underlying,
          right: q.right,
          strike: q.strike,
          expiry: q.expiry,
          multiplier: q.unit,
          iv: round(q.iv, 6),
          // Per contract, textbook units: delta and gamma per unit of underlying, vega per vol point, theta per trading day.
          greeks: {
            delta: round(q.greeks.delta, 6),
            gamma: round(q.greeks.gamma, 6),
            vega: round(q.greeks.vega / 100, 6),
            theta: round(q.greeks.theta / 240, 6),
          },
        });
      }
    },
    account(account) {
      publisher.publish(topicOf("account", account.id), {
        accountId: account.id,
        account: accountOf(account, market),
        risk: riskOf(account, market, clock()),
      });
    },
    algorithm(algorithm, log) {
      publisher.publish(topicOf("algorithm", algorithm.id), { algorithmId: algorithm.id, algorithm, log: log ?? null });
    },
    execution(execution) {
      publisher.publish(topicOf("execution", execution.id), { executionId: execution.id, execution });
    },
  };
}

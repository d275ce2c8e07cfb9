import type { Market } from "../domain/index.js";
import { notFound } from "../errors.js";
import type { EventSink } from "../events.js";
import type { AccountRecord, AccountStore } from "../state/accounts.js";
import type { Clock } from "../time.js";
import { accountOf, positionsOf, riskOf } from "../valuation.js";
import type { ServiceHandlers } from "./types.js";

export interface AccountServiceDeps {
  accounts: AccountStore;
  market: Market;
  clock: Clock;
  events: EventSink;
}

export function createAccountService(d: AccountServiceDeps): ServiceHandlers<"account_service"> {
  const find = (id: string): AccountRecord => {
    const a = d.accounts.get(id);
    if (!a) throw notFound(`no account ${id}`);
    return a;
  };
  return {
    get_accounts: () => d.accounts.list().map((a) => accountOf(a, d.market)),
    get_account: ([id]) => accountOf(find(id), d.market),
    get_positions: ([id]) => positionsOf(find(id), d.market),
    get_risk_metrics: ([id]) => riskOf(find(id), d.market, d.clock()),
    set_account_enabled([id, enabled], ctx) {
      const a = find(id);
      a.enabled = enabled;
      ctx.logger.info({ accountId: id, enabled, userId: ctx.userId }, "account enabled changed");
      d.events.account(a);
      return accountOf(a, d.market);
    },
    verify_positions([id]) {
      const a = find(id);
      const mismatches = [...a.positions.values()]
        .filter((p) => (a.brokerDrift.get(p.code) ?? 0) !== 0)
        .map((p) => ({ code: p.code, local: p.quantity, broker: p.quantity + (a.brokerDrift.get(p.code) ?? 0) }));
      return { accountId: id, matched: mismatches.length === 0, checkedAt: d.clock(), mismatches };
    },
  };
}

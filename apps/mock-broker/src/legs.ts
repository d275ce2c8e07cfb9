import type { Instruction, Side } from "@desk/contracts";
import { type Market, type OptionContract, planLegs, rollTarget } from "./domain/index.js";
import { invalid, notFound } from "./errors.js";
import type { AccountRecord } from "./state/accounts.js";

/**
 * Instructions -> orders for one account. Opening trades (straddle, single) are
 * sized and struck by the domain's planLegs; close and roll depend on what the
 * account holds, so they are resolved here against its positions.
 */
export interface AccountLeg {
  accountId: string;
  contract: OptionContract;
  side: Side;
  lots: number;
}

const MAX_LOTS_PER_LEG = 10_000;

export function legsForAccount(instruction: Instruction, account: AccountRecord, market: Market): AccountLeg[] {
  const accountId = account.id;
  switch (instruction.type) {
    case "straddle":
    case "single": {
      const plan = planLegs(instruction, market);
      if (!plan.ok) throw invalid(`${instruction.text}: ${plan.error}`);
      for (const leg of plan.legs) {
        if (leg.lots > MAX_LOTS_PER_LEG)
          throw invalid(
            `${instruction.text}: ${leg.lots} lots of ${leg.contract.name} is more than the ${MAX_LOTS_PER_LEG} per leg the mock accepts`,
          );
      }
      return plan.legs.map((l) => ({ accountId, contract: l.contract, side: l.side, lots: l.lots }));
    }
    case "close": {
      const legs: AccountLeg[] = [];
      for (const p of account.positions.values()) {
        const c = market.contract(p.code);
        if (!c || p.quantity === 0) continue;
        if (instruction.underlying != null && c.underlying !== instruction.underlying) continue;
        if (instruction.month != null && c.month !== instruction.month) continue;
        legs.push({ accountId, contract: c, side: p.quantity > 0 ? "sell" : "buy", lots: Math.abs(p.quantity) });
      }
      return legs;
    }
    case "roll": {
      const legs: AccountLeg[] = [];
      for (const p of account.positions.values()) {
        const c = market.contract(p.code);
        if (!c || p.quantity === 0 || c.month !== instruction.from) continue;
        if (instruction.underlying != null && c.underlying !== instruction.underlying) continue;
        const target = rollTarget(c, instruction.to, market);
        if (!target) throw notFound(`${instruction.text}: no ${instruction.to} contract to roll ${c.name} into`);
        const lots = Math.abs(p.quantity);
        legs.push({ accountId, contract: c, side: p.quantity > 0 ? "sell" : "buy", lots });
        legs.push({ accountId, contract: target, side: p.quantity > 0 ? "buy" : "sell", lots });
      }
      return legs;
    }
  }
}

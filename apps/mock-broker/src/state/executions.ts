import type { AccountFillSummary, Execution, ExecutionLeg } from "@desk/contracts";
import type { Market } from "../domain/index.js";
import { conflict } from "../errors.js";
import type { AccountLeg } from "../legs.js";
import type { Clock } from "../time.js";
import { round } from "../time.js";

/**
 * Executions: legs work one after the other, a slice per fill step, at the
 * touch (bid for a sell, ask for a buy). Every change goes to `onChange` (the
 * publisher) and every fill to `onFill` (the account book).
 */
export interface ExecutionStore {
  /** `requestId`: the call that asked for it, recorded so a caller that got no answer can recognise it in events. */
  create(legs: AccountLeg[], dryRun: boolean, requestId?: string): Execution;
  get(id: string): Execution | undefined;
  cancel(id: string): Execution | undefined;
  /** One slice of work on every running execution. */
  fillStep(): void;
  size(): number;
}

export interface ExecutionStoreOptions {
  market: Market;
  clock: Clock;
  onChange: (execution: Execution) => void;
  onFill: (accountId: string, code: string, signedLots: number, price: number) => void;
  /** A leg fills in this many slices (default 3): a real execution takes a few steps, so it can be cancelled mid-way. */
  slicesPerLeg?: number;
}

interface LegState extends ExecutionLeg {
  multiplier: number;
}

interface Entry {
  execution: Omit<Execution, "legs" | "fills" | "progress">;
  legs: LegState[];
}

export function createExecutionStore(o: ExecutionStoreOptions): ExecutionStore {
  const entries = new Map<string, Entry>();
  const slices = o.slicesPerLeg ?? 3;
  let counter = 0;

  const priceOf = (leg: LegState): number => {
    const q = o.market.quote(leg.code);
    return q ? (leg.side === "sell" ? q.bid : q.ask) : 0;
  };

  const view = (e: Entry): Execution => {
    const target = e.legs.reduce((s, l) => s + l.targetQuantity, 0);
    const filled = e.legs.reduce((s, l) => s + l.filledQuantity, 0);
    const fills = new Map<string, AccountFillSummary>();
    for (const l of e.legs) {
      const f = fills.get(l.accountId) ?? {
        accountId: l.accountId,
        legs: 0,
        targetQuantity: 0,
        filledQuantity: 0,
        premium: 0,
      };
      const cash = (l.avgPrice ?? 0) * l.multiplier * l.filledQuantity;
      fills.set(l.accountId, {
        ...f,
        legs: f.legs + 1,
        targetQuantity: f.targetQuantity + l.targetQuantity,
        filledQuantity: f.filledQuantity + l.filledQuantity,
        premium: f.premium + (l.side === "sell" ? cash : -cash),
      });
    }
    const done = e.execution.status === "completed";
    return {
      ...e.execution,
      progress: done || target === 0 ? 1 : Math.round((filled / target) * 10_000) / 10_000,
      legs: e.legs.map(({ multiplier: _m, ...leg }) => ({
        ...leg,
        avgPrice: leg.avgPrice == null ? null : round(leg.avgPrice, 4),
      })),
      fills: [...fills.values()].map((f) => ({ ...f, premium: round(f.premium) })),
    };
  };

  const changed = (e: Entry): Execution => {
    e.execution.updatedAt = o.clock();
    const v = view(e);
    o.onChange(v);
    return v;
  };

  const fillLeg = (e: Entry, leg: LegState, lots: number): void => {
    const price = priceOf(leg);
    leg.avgPrice = ((leg.avgPrice ?? 0) * leg.filledQuantity + price * lots) / (leg.filledQuantity + lots);
    leg.filledQuantity += lots;
    leg.status = leg.filledQuantity >= leg.targetQuantity ? "filled" : "working";
    if (!e.execution.dryRun) o.onFill(leg.accountId, leg.code, leg.side === "buy" ? lots : -lots, price);
  };

  return {
    create(planned, dryRun, requestId) {
      counter++;
      const now = o.clock();
      const id = `exec-${String(counter).padStart(6, "0")}`;
      const legs: LegState[] = planned.map((p, i) => ({
        legId: `${id}-leg${i + 1}`,
        accountId: p.accountId,
        code: p.contract.code,
        name: p.contract.name,
        side: p.side,
        right: p.contract.right,
        strike: p.contract.strike,
        expiry: p.contract.expiry,
        targetQuantity: p.lots,
        filledQuantity: 0,
        avgPrice: null,
        status: "pending",
        multiplier: p.contract.unit,
      }));
      const e: Entry = {
        execution: {
          id,
          status: "running",
          dryRun,
          createdAt: now,
          updatedAt: now,
          error: null,
          ...(requestId === undefined ? {} : { requestId }),
        },
        legs,
      };
      entries.set(id, e);
      if (dryRun || legs.length === 0) {
        // A dry run prices every leg as if it filled now at the touch, and sends nothing.
        for (const leg of legs) fillLeg(e, leg, leg.targetQuantity);
        e.execution.status = "completed";
      }
      return changed(e);
    },
    get(id) {
      const e = entries.get(id);
      return e ? view(e) : undefined;
    },
    cancel(id) {
      const e = entries.get(id);
      if (!e) return undefined;
      const status = e.execution.status;
      if (status !== "running" && status !== "pending") throw conflict(`execution ${id} is already ${status}`);
      for (const leg of e.legs) if (leg.status === "pending" || leg.status === "working") leg.status = "cancelled";
      e.execution.status = "cancelled";
      return changed(e);
    },
    fillStep() {
      for (const e of entries.values()) {
        if (e.execution.status !== "running") continue;
        const leg = e.legs.find((l) => l.status === "pending" || l.status === "working");
        if (leg)
          fillLeg(e, leg, Math.min(leg.targetQuantity - leg.filledQuantity, Math.ceil(leg.targetQuantity / slices)));
        if (e.legs.every((l) => l.status === "filled")) e.execution.status = "completed";
        changed(e);
      }
    },
    size: () => entries.size,
  };
}

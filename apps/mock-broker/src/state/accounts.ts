import type { Market, Month } from "../domain/index.js";
import { atmStrike, findContract, otmStrike } from "../domain/index.js";
import type { Rng } from "../domain/index.js";

/**
 * Virtual accounts and their option positions. Only quantities, cost and cash
 * live here; prices, P&L and greeks are computed from the market on demand
 * (valuation.ts), so they follow every tick without bookkeeping.
 */
export interface PositionRecord {
  code: string;
  /** Signed lots: short < 0. */
  quantity: number;
  /** Average open price per unit of underlying. */
  avgPrice: number;
}

export interface AccountRecord {
  id: string;
  name: string;
  broker: string;
  enabled: boolean;
  /** Cash put in, yuan. */
  capital: number;
  /** P&L booked before the mock started (so totalPnl is not just today's). */
  priorPnl: number;
  /** P&L realised by closing trades since the mock started. */
  realizedPnl: number;
  /** Unrealised P&L when the mock started: daily P&L is measured from here. */
  dayStartUnrealized: number;
  positions: Map<string, PositionRecord>;
  /** Contracts where the broker's count differs from ours (verify_positions reports them). */
  brokerDrift: Map<string, number>;
}

export interface AccountStore {
  list(): AccountRecord[];
  get(id: string): AccountRecord | undefined;
  /** Books a fill: moves the position, realises P&L on the part that closes. */
  applyFill(accountId: string, code: string, signedLots: number, price: number): void;
}

interface SeedPosition {
  underlying: string;
  month: Month;
  right: "call" | "put";
  /** 0 = ATM, > 0 out of the money. */
  otm: number;
  quantity: number;
  /** Use the adjusted (unit 10153) contract of a quarterly month. */
  adjusted?: boolean;
}

interface SeedAccount {
  id: string;
  name: string;
  broker: string;
  capital: number;
  priorPnl: number;
  positions: SeedPosition[];
  drift?: Array<{ position: number; delta: number }>;
}

export const SEED_ACCOUNTS: readonly SeedAccount[] = [
  {
    id: "account1",
    name: "Alpha Vol Fund",
    broker: "CITIC Securities",
    capital: 10_000_000,
    priorPnl: 352_180,
    positions: [
      // A short 500ETF straddle and a 300ETF put hedge: the desk's bread and butter.
      { underlying: "510500", month: "current", right: "call", otm: 0, quantity: -40 },
      { underlying: "510500", month: "current", right: "put", otm: 0, quantity: -40 },
      { underlying: "510300", month: "next", right: "put", otm: 2, quantity: 25 },
    ],
  },
  {
    id: "account2",
    name: "Beta Arbitrage",
    broker: "Huatai Securities",
    capital: 6_000_000,
    priorPnl: -48_930,
    positions: [
      { underlying: "510050", month: "next", right: "call", otm: 1, quantity: -30 },
      { underlying: "510050", month: "next", right: "put", otm: 1, quantity: -30 },
      // An adjusted contract (unit 10153): multipliers must be read per contract.
      { underlying: "510500", month: "current_quarter", right: "call", otm: 0, quantity: 12, adjusted: true },
    ],
  },
  {
    id: "account3",
    name: "Gamma Hedge",
    broker: "Guotai Junan",
    capital: 3_000_000,
    priorPnl: 120_400,
    positions: [
      { underlying: "159915", month: "current", right: "call", otm: 1, quantity: 20 },
      { underlying: "159915", month: "current", right: "put", otm: 1, quantity: 20 },
    ],
    // The broker reports 2 lots fewer of the first position: verify_positions shows a mismatch.
    drift: [{ position: 0, delta: -2 }],
  },
];

function seedContract(market: Market, p: SeedPosition): string {
  const chain = market.chain(p.underlying, p.month);
  const spot = market.spot(p.underlying);
  if (!chain || spot === undefined) throw new Error(`seed: no chain for ${p.underlying} ${p.month}`);
  if (p.adjusted) {
    const adjusted = chain.contracts.find((c) => c.adjusted && c.right === p.right);
    if (adjusted) return adjusted.code;
  }
  const strike =
    p.otm === 0
      ? atmStrike(chain.strikes, spot)
      : (otmStrike(chain.strikes, spot, p.right, p.otm) ?? atmStrike(chain.strikes, spot));
  const contract = findContract(chain, p.right, strike);
  if (!contract) throw new Error(`seed: no ${p.right} ${strike} in ${p.underlying} ${p.month}`);
  return contract.code;
}

export function createAccountStore(
  market: Market,
  rng: Rng,
  seed: readonly SeedAccount[] = SEED_ACCOUNTS,
): AccountStore {
  const accounts = new Map<string, AccountRecord>();
  for (const s of seed) {
    const positions = new Map<string, PositionRecord>();
    const codes: string[] = [];
    for (const p of s.positions) {
      const code = seedContract(market, p);
      const last = market.quote(code)?.last ?? 0;
      // Opened a little away from today's price, so P&L is not zero at start.
      const avgPrice = Math.max(0.0001, Number((last * (1 + 0.08 * (rng.next() - 0.5))).toFixed(4)));
      positions.set(code, { code, quantity: p.quantity, avgPrice });
      codes.push(code);
    }
    const brokerDrift = new Map<string, number>();
    for (const d of s.drift ?? []) {
      const code = codes[d.position];
      if (code !== undefined) brokerDrift.set(code, d.delta);
    }
    accounts.set(s.id, {
      id: s.id,
      name: s.name,
      broker: s.broker,
      enabled: true,
      capital: s.capital,
      priorPnl: s.priorPnl,
      realizedPnl: 0,
      dayStartUnrealized: 0,
      positions,
      brokerDrift,
    });
  }

  return {
    list: () => [...accounts.values()],
    get: (id) => accounts.get(id),
    applyFill(accountId, code, signedLots, price) {
      const account = accounts.get(accountId);
      const contract = market.contract(code);
      if (!account || !contract || signedLots === 0) return;
      const held = account.positions.get(code) ?? { code, quantity: 0, avgPrice: 0 };
      const sameDirection = held.quantity === 0 || Math.sign(held.quantity) === Math.sign(signedLots);
      if (sameDirection) {
        const quantity = held.quantity + signedLots;
        const avgPrice = (held.avgPrice * Math.abs(held.quantity) + price * Math.abs(signedLots)) / Math.abs(quantity);
        account.positions.set(code, { code, quantity, avgPrice });
        return;
      }
      const closing = Math.min(Math.abs(signedLots), Math.abs(held.quantity));
      // Closing a long at `price` gains (price - avg); closing a short gains (avg - price).
      account.realizedPnl += (price - held.avgPrice) * contract.unit * closing * Math.sign(held.quantity);
      const quantity = held.quantity + signedLots;
      if (quantity === 0) account.positions.delete(code);
      else if (Math.sign(quantity) === Math.sign(held.quantity)) account.positions.set(code, { ...held, quantity });
      else account.positions.set(code, { code, quantity, avgPrice: price }); // flipped through zero
    },
  };
}

import type { Account, Position, RiskMetrics } from "@desk/contracts";
import { accountRisk, type Market, positionGreeks, type RiskPosition } from "./domain/index.js";
import type { AccountRecord } from "./state/accounts.js";
import { round } from "./time.js";

/**
 * Marks an account to the market: positions with P&L and cash greeks, the
 * account's equity and margin, and its risk. Pure functions of (account, market),
 * so the RPC answers and the published account events always agree.
 */

/** SSE/SZSE ETF option margin for one short lot, yuan (exchange formula). */
export function shortMargin(right: "call" | "put", price: number, spot: number, strike: number, unit: number): number {
  if (right === "call") {
    const otm = Math.max(strike - spot, 0);
    return (price + Math.max(0.12 * spot - otm, 0.07 * spot)) * unit;
  }
  const otm = Math.max(spot - strike, 0);
  return Math.min(price + Math.max(0.12 * spot - otm, 0.07 * strike), strike) * unit;
}

interface Marked {
  position: Position;
  risk: RiskPosition;
  margin: number;
}

function mark(account: AccountRecord, market: Market): Marked[] {
  const out: Marked[] = [];
  for (const p of account.positions.values()) {
    const q = market.quote(p.code);
    if (!q) continue;
    const risk: RiskPosition = {
      underlying: q.underlying,
      qty: p.quantity,
      unit: q.unit,
      spot: q.spot,
      delta: q.greeks.delta,
      gamma: q.greeks.gamma,
      vega: q.greeks.vega,
      theta: q.greeks.theta,
      price: q.last,
    };
    const g = positionGreeks(risk);
    out.push({
      risk,
      margin: p.quantity < 0 ? shortMargin(q.right, q.last, q.spot, q.strike, q.unit) * -p.quantity : 0,
      position: {
        accountId: account.id,
        code: q.code,
        name: q.name,
        underlying: q.underlying,
        right: q.right,
        strike: q.strike,
        expiry: q.expiry,
        multiplier: q.unit,
        quantity: p.quantity,
        avgPrice: round(p.avgPrice, 4),
        lastPrice: q.last,
        pnl: round((q.last - p.avgPrice) * q.unit * p.quantity),
        greeks: { delta: round(g.cashDelta), gamma: round(g.cashGamma), vega: round(g.vega), theta: round(g.theta) },
      },
    });
  }
  return out.sort((a, b) => a.position.code.localeCompare(b.position.code));
}

export function positionsOf(account: AccountRecord, market: Market): Position[] {
  return mark(account, market).map((m) => m.position);
}

/** Unrealised P&L, unrounded: the baseline for daily P&L. */
export function unrealizedPnl(account: AccountRecord, market: Market): number {
  let sum = 0;
  for (const p of account.positions.values()) {
    const q = market.quote(p.code);
    if (q) sum += (q.last - p.avgPrice) * q.unit * p.quantity;
  }
  return sum;
}

export function accountOf(account: AccountRecord, market: Market): Account {
  const marked = mark(account, market);
  const unrealized = unrealizedPnl(account, market);
  const totalPnl = account.priorPnl + account.realizedPnl + unrealized;
  const balance = account.capital + totalPnl;
  const margin = marked.reduce((s, m) => s + m.margin, 0);
  return {
    id: account.id,
    name: account.name,
    broker: account.broker,
    enabled: account.enabled,
    balance: round(balance),
    available: round(balance - margin),
    margin: round(margin),
    dailyPnl: round(account.realizedPnl + unrealized - account.dayStartUnrealized),
    totalPnl: round(totalPnl),
  };
}

export function riskOf(account: AccountRecord, market: Market, asOf: string): RiskMetrics {
  const positions = mark(account, market).map((m) => m.risk);
  const vols: Record<string, number> = {};
  for (const p of positions) vols[p.underlying] = market.underlyingQuote(p.underlying)?.atmVol ?? 0.2;
  const r = accountRisk(positions, { vols });
  return {
    accountId: account.id,
    asOf,
    cashDelta: round(r.total.cashDelta),
    gamma: round(r.total.cashGamma),
    vega: round(r.total.vega),
    theta: round(r.total.theta),
    var95: round(r.total.var95),
    var99: round(r.total.var99),
    byUnderlying: r.byUnderlying.map((u) => ({
      underlying: u.underlying,
      cashDelta: round(u.cashDelta),
      gamma: round(u.cashGamma),
      vega: round(u.vega),
      theta: round(u.theta),
    })),
  };
}

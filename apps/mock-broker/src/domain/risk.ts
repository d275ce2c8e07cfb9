import { TRADING_DAYS_PER_YEAR, thetaPerTradingDay, vegaPerVolPoint } from "./black-scholes.js";

/**
 * Position and account risk in desk units (yuan), signed by position
 * (qty > 0 long, < 0 short):
 *   cashDelta  = Δ·S·unit·qty                  yuan of underlying exposure
 *   cashGamma  = Γ·S²·unit·qty / 100           change in cashDelta for a +1% move
 *   vega       = vegaBS·unit·qty / 100         yuan per vol point (1% of vol)
 *   theta      = thetaBS·unit·qty / 240        yuan per trading day
 * A short straddle has cashGamma < 0, vega < 0, theta > 0.
 *
 * VaR is 1-day, delta-gamma: P&L(r) = cashDelta·r + ½·(100·cashGamma)·r² for an
 * underlying return r, worst case over |r| <= z·σ_day (σ_day = annual vol /
 * √240), reported as a positive loss (0 if no move in the range loses money).
 * Delta-only VaR would call a delta-hedged short straddle riskless; the gamma
 * term is what shows its loss in both directions.
 * The account total adds per-underlying VaRs: assumes perfectly correlated
 * ETFs, which is conservative (and close: these ETFs correlate at 0.8-0.95).
 */
export const Z_95 = 1.645;
export const Z_99 = 2.326;

export interface RiskPosition {
  underlying: string;
  /** Signed lots: > 0 long, < 0 short. */
  qty: number;
  /** Contract multiplier, read per contract (10000, 10153, ...). */
  unit: number;
  spot: number;
  /** Raw Black-Scholes greeks per unit of underlying; vega per 1.00 vol, theta per year. */
  delta: number;
  gamma: number;
  vega: number;
  theta: number;
  /** Option price, for market value; optional. */
  price?: number;
}

export interface CashGreeks {
  cashDelta: number;
  cashGamma: number;
  vega: number;
  theta: number;
  /** price·unit·qty: what the position is worth (negative when short). */
  marketValue: number;
}

export interface UnderlyingRisk extends CashGreeks {
  underlying: string;
  spot: number;
  /** One-day standard deviation of the underlying's return. */
  dailyVol: number;
  var95: number;
  var99: number;
}

export interface AccountRisk {
  byUnderlying: UnderlyingRisk[];
  total: CashGreeks & { var95: number; var99: number };
}

export function positionGreeks(p: RiskPosition): CashGreeks {
  return {
    cashDelta: p.delta * p.spot * p.unit * p.qty,
    cashGamma: (p.gamma * p.spot * p.spot * p.unit * p.qty) / 100,
    vega: vegaPerVolPoint(p.vega, p.unit) * p.qty,
    theta: thetaPerTradingDay(p.theta, p.unit) * p.qty,
    marketValue: (p.price ?? 0) * p.unit * p.qty,
  };
}

/** One-day return standard deviation from an annualised vol (240 trading days). */
export function dailyVol(annualVol: number): number {
  return annualVol / Math.sqrt(TRADING_DAYS_PER_YEAR);
}

/** Delta-gamma 1-day VaR at quantile z, as a positive loss (see the module comment). */
export function deltaGammaVar(cashDelta: number, cashGamma: number, dayVol: number, z: number): number {
  const range = z * dayVol;
  const curvature = 100 * cashGamma; // Γ·S²·unit·qty
  const pnl = (r: number): number => cashDelta * r + 0.5 * curvature * r * r;
  const candidates = [range, -range];
  // A long-gamma book's worst move can be inside the range, at the parabola's vertex.
  if (curvature > 0) {
    const vertex = -cashDelta / curvature;
    if (Math.abs(vertex) <= range) candidates.push(vertex);
  }
  const worst = Math.min(...candidates.map(pnl));
  return Math.max(0, -worst);
}

const ZERO: CashGreeks = { cashDelta: 0, cashGamma: 0, vega: 0, theta: 0, marketValue: 0 };

function add(a: CashGreeks, b: CashGreeks): CashGreeks {
  return {
    cashDelta: a.cashDelta + b.cashDelta,
    cashGamma: a.cashGamma + b.cashGamma,
    vega: a.vega + b.vega,
    theta: a.theta + b.theta,
    marketValue: a.marketValue + b.marketValue,
  };
}

export interface AccountRiskOptions {
  /** Annualised vol per underlying code for VaR; falls back to `defaultVol`. */
  vols?: Readonly<Record<string, number>>;
  /** Default 0.2. */
  defaultVol?: number;
}

export function accountRisk(positions: readonly RiskPosition[], o: AccountRiskOptions = {}): AccountRisk {
  const groups = new Map<string, { spot: number; greeks: CashGreeks }>();
  for (const p of positions) {
    const g = groups.get(p.underlying) ?? { spot: p.spot, greeks: ZERO };
    groups.set(p.underlying, { spot: p.spot, greeks: add(g.greeks, positionGreeks(p)) });
  }
  const byUnderlying: UnderlyingRisk[] = [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([underlying, { spot, greeks }]) => {
      const day = dailyVol(o.vols?.[underlying] ?? o.defaultVol ?? 0.2);
      return {
        underlying,
        spot,
        ...greeks,
        dailyVol: day,
        var95: deltaGammaVar(greeks.cashDelta, greeks.cashGamma, day, Z_95),
        var99: deltaGammaVar(greeks.cashDelta, greeks.cashGamma, day, Z_99),
      };
    });
  const total = byUnderlying.reduce<CashGreeks & { var95: number; var99: number }>(
    (acc, u) => ({ ...add(acc, u), var95: acc.var95 + u.var95, var99: acc.var99 + u.var99 }),
    { ...ZERO, var95: 0, var99: 0 },
  );
  return { byUnderlying, total };
}

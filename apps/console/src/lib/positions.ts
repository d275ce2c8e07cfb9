import type { Position } from "./types";

export interface PositionTotals {
  /** Net contracts (short < 0). */
  quantity: number;
  pnl: number;
  delta: number;
  gamma: number;
  vega: number;
  theta: number;
}

/** The totals row under the positions table: position greeks are already yuan totals, so they add. */
export function positionTotals(positions: readonly Position[]): PositionTotals {
  const totals: PositionTotals = { quantity: 0, pnl: 0, delta: 0, gamma: 0, vega: 0, theta: 0 };
  for (const p of positions) {
    totals.quantity += p.quantity;
    totals.pnl += p.pnl;
    totals.delta += p.greeks.delta;
    totals.gamma += p.greeks.gamma;
    totals.vega += p.greeks.vega;
    totals.theta += p.greeks.theta;
  }
  return totals;
}

/** Side of a signed position, as the desk says it. */
export function positionSide(quantity: number): "long" | "short" | "flat" {
  return quantity > 0 ? "long" : quantity < 0 ? "short" : "flat";
}

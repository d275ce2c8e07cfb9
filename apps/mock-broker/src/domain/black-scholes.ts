import type { Right } from "./types.js";

/**
 * Black-Scholes for European ETF options (SSE/SZSE ETF options are European).
 * Raw greeks are per unit of underlying, per 1.00 of vol and per year; the
 * contract-level helpers below turn them into desk units (yuan per vol point,
 * yuan per trading day).
 */

/** Trading days per year: the desk's convention for theta and time to expiry. */
export const TRADING_DAYS_PER_YEAR = 240;
export const DEFAULT_RATE = 0.02;

export interface BsInput {
  right: Right;
  spot: number;
  strike: number;
  /** Time to expiry in years (trading days / 240 by this desk's convention). */
  years: number;
  /** Annualised volatility, 0.2 = 20%. */
  vol: number;
  /** Continuously compounded risk-free rate; default 0.02. */
  rate?: number;
}

export interface BsGreeks {
  price: number;
  /** dPrice/dSpot. */
  delta: number;
  /** d2Price/dSpot2. */
  gamma: number;
  /** dPrice/dVol per 1.00 (100 vol points) of vol. */
  vega: number;
  /** dPrice/dt per year of time to expiry (negative for a long option; divide by 240 for a trading day). */
  theta: number;
}

export function normPdf(x: number): number {
  return Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
}

/** Standard normal CDF (Abramowitz-Stegun 7.1.26 via erf, |error| < 1.5e-7). */
export function normCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-z * z);
  return x >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

function intrinsic(right: Right, spot: number, strike: number): number {
  return right === "call" ? Math.max(spot - strike, 0) : Math.max(strike - spot, 0);
}

export function bsGreeks(input: BsInput): BsGreeks {
  const { right, spot, strike, years, vol } = input;
  const rate = input.rate ?? DEFAULT_RATE;
  if (years <= 0 || vol <= 0) {
    // At (or past) expiry, or zero vol: the option is its discounted intrinsic value.
    const df = years > 0 ? Math.exp(-rate * years) : 1;
    const forwardIntrinsic = intrinsic(right, spot, strike * df);
    const itm = right === "call" ? spot > strike * df : spot < strike * df;
    return { price: forwardIntrinsic, delta: itm ? (right === "call" ? 1 : -1) : 0, gamma: 0, vega: 0, theta: 0 };
  }
  const sqrtT = Math.sqrt(years);
  const d1 = (Math.log(spot / strike) + (rate + 0.5 * vol * vol) * years) / (vol * sqrtT);
  const d2 = d1 - vol * sqrtT;
  const df = Math.exp(-rate * years);
  const pdf = normPdf(d1);
  const gamma = pdf / (spot * vol * sqrtT);
  const vega = spot * pdf * sqrtT;
  const decay = (-spot * pdf * vol) / (2 * sqrtT);
  if (right === "call") {
    return {
      price: spot * normCdf(d1) - strike * df * normCdf(d2),
      delta: normCdf(d1),
      gamma,
      vega,
      theta: decay - rate * strike * df * normCdf(d2),
    };
  }
  return {
    price: strike * df * normCdf(-d2) - spot * normCdf(-d1),
    delta: normCdf(d1) - 1,
    gamma,
    vega,
    theta: decay + rate * strike * df * normCdf(-d2),
  };
}

export function bsPrice(input: BsInput): number {
  return bsGreeks(input).price;
}

export interface ImpliedVolInput {
  right: Right;
  spot: number;
  strike: number;
  years: number;
  price: number;
  rate?: number;
}

const MIN_VOL = 1e-4;
const MAX_VOL = 5;

/**
 * Implied vol by Newton steps kept inside a shrinking bisection bracket, so it
 * converges where Newton alone diverges (deep ITM/OTM, tiny vega).
 * Returns null when the price is outside the no-arbitrage bounds or the option
 * has expired: no vol reproduces it, and a made-up number would mislead.
 */
export function impliedVol(input: ImpliedVolInput, tolerance = 1e-8): number | null {
  const { right, spot, strike, years, price } = input;
  const rate = input.rate ?? DEFAULT_RATE;
  if (!(years > 0) || !(price > 0) || !(spot > 0) || !(strike > 0)) return null;
  const at = (vol: number): BsGreeks => bsGreeks({ right, spot, strike, years, vol, rate });
  let lo = MIN_VOL;
  let hi = MAX_VOL;
  if (price < at(lo).price - tolerance || price > at(hi).price + tolerance) return null;
  let vol = 0.25;
  for (let i = 0; i < 100; i++) {
    const g = at(vol);
    const diff = g.price - price;
    if (Math.abs(diff) < tolerance) return vol;
    if (diff > 0) hi = vol;
    else lo = vol;
    const newton = g.vega > 1e-12 ? vol - diff / g.vega : Number.NaN;
    vol = newton > lo && newton < hi ? newton : (lo + hi) / 2;
    if (hi - lo < 1e-12) return vol;
  }
  return vol;
}

/** Contract vega in yuan per vol point: BS vega x unit / 100. */
export function vegaPerVolPoint(bsVega: number, unit: number): number {
  return (bsVega * unit) / 100;
}

/** Contract theta in yuan per trading day: yearly theta x unit / 240. */
export function thetaPerTradingDay(bsTheta: number, unit: number): number {
  return (bsTheta * unit) / TRADING_DAYS_PER_YEAR;
}

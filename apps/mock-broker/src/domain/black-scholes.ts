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

/**
 * Standard normal CDF, Hart's algorithm as given by West (2005), accurate to
 * double precision: implied vol of far out-of-the-money options needs the
 * tails exact, which the 1e-7 textbook approximations are not.
 */
export function normCdf(x: number): number {
  const a = Math.abs(x);
  let tail: number;
  if (a > 37) tail = 0;
  else {
    const e = Math.exp(-0.5 * a * a);
    if (a < 7.07106781186547) {
      let n = 3.52624965998911e-2 * a + 0.700383064443688;
      n = n * a + 6.37396220353165;
      n = n * a + 33.912866078383;
      n = n * a + 112.079291497871;
      n = n * a + 221.213596169931;
      n = n * a + 220.206867912376;
      let d = 8.83883476483184e-2 * a + 1.75566716318264;
      d = d * a + 16.064177579207;
      d = d * a + 86.7807322029461;
      d = d * a + 296.564248779674;
      d = d * a + 637.333633378831;
      d = d * a + 793.826512519948;
      d = d * a + 440.413735824752;
      tail = (e * n) / d;
    } else {
      let b = a + 0.65;
      b = a + 4 / b;
      b = a + 3 / b;
      b = a + 2 / b;
      b = a + 1 / b;
      tail = e / b / 2.506628274631;
    }
  }
  return x > 0 ? 1 - tail : tail;
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

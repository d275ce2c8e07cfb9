import {
  type BsGreeks,
  bsGreeks,
  DEFAULT_RATE,
  TRADING_DAYS_PER_YEAR,
  thetaPerTradingDay,
  vegaPerVolPoint,
} from "./black-scholes.js";
import { type IsoDate, listedMonths, shanghaiToday, tradingDaysBetween } from "./calendar.js";
import { buildChain, type OptionChain, type OptionContract } from "./chain.js";
import { createRng } from "./random.js";
import type { Month } from "./types.js";
import { type Exchange, UNDERLYINGS, type Underlying, type UnderlyingFamily, underlyingByCode } from "./underlyings.js";

/**
 * A deterministic market simulator: same seed and options, same ticks.
 * Underlyings follow a log random walk with a shared market factor (the ETF
 * families move together, the SSE/SZSE twins of a family almost exactly);
 * option IVs come from an ATM vol that wanders around the ETF's typical vol, a
 * small term structure, a put skew with a smile, and per-contract noise.
 * The calendar day stays `today`: ticks move prices, not time to expiry.
 */
export interface MarketOptions {
  seed?: number;
  /** Exchange date, "YYYY-MM-DD"; default today in Shanghai. */
  today?: IsoDate;
  rate?: number;
  /** Underlying codes to list; default all. */
  underlyings?: readonly string[];
  /** Simulated seconds of trading per step() (a trading day is 4 hours); default 60. */
  secondsPerTick?: number;
  strikesEachSide?: number;
}

export interface UnderlyingQuote {
  code: string;
  name: string;
  exchange: Exchange;
  last: number;
  bid: number;
  ask: number;
  prevClose: number;
  /** (last / prevClose - 1) x 100 */
  changePct: number;
  /** Current ATM implied vol of its options (0.2 = 20%). */
  atmVol: number;
}

export interface OptionQuote extends OptionContract {
  spot: number;
  /** Years to expiry: trading days / 240. */
  years: number;
  iv: number;
  theo: number;
  bid: number;
  ask: number;
  last: number;
  /** Raw Black-Scholes greeks per unit of underlying (see black-scholes.ts). */
  greeks: BsGreeks;
  /** Yuan per lot: Δ·S·unit. */
  cashDeltaPerLot: number;
  /** Yuan per vol point per lot. */
  vegaPerLot: number;
  /** Yuan per trading day per lot. */
  thetaPerLot: number;
}

export interface MarketSnapshot {
  tick: number;
  today: IsoDate;
  underlyings: UnderlyingQuote[];
  options: OptionQuote[];
}

export interface Market {
  readonly today: IsoDate;
  readonly rate: number;
  /** Advance one tick. */
  step(): void;
  tick(): number;
  listedUnderlyings(): Underlying[];
  spot(code: string): number | undefined;
  chain(underlying: string, month: Month): OptionChain | undefined;
  chains(): OptionChain[];
  contract(code: string): OptionContract | undefined;
  quote(code: string): OptionQuote | undefined;
  underlyingQuote(code: string): UnderlyingQuote | undefined;
  snapshot(): MarketSnapshot;
}

const OPTION_TICK = 0.0001;
const ETF_TICK = 0.001;
const TRADING_SECONDS_PER_DAY = 4 * 3600;
/** Loadings on the shared market factor: how much each family moves with "the market". */
const MARKET_LOADING: Record<UnderlyingFamily, number> = { "50": 0.85, "300": 0.9, "500": 0.8, cyb: 0.7 };
const MONTH_ORDER: Record<Month, number> = { current: 0, next: 1, current_quarter: 2, next_quarter: 3 };

const roundTo = (x: number, tick: number): number => Math.round(x / tick) * tick;
const fix = (x: number, digits: number): number => Number(x.toFixed(digits));

/** The simulator's vol surface: ATM vol x term structure x skew/smile in standardised moneyness. */
export function smileVol(atmVol: number, spot: number, strike: number, years: number, monthIndex: number): number {
  // Floor the time and clamp the moneyness: standardised moneyness explodes in
  // the last days before expiry, and a 150% wing vol would be a silly quote.
  const x = Math.max(
    -2.5,
    Math.min(2.5, Math.log(strike / spot) / Math.sqrt(Math.max(years, 20 / TRADING_DAYS_PER_YEAR))),
  );
  const shape = 1 - 0.25 * x + 0.6 * x * x;
  const term = 1 + 0.02 * monthIndex;
  return Math.min(1.5, Math.max(0.05, atmVol * term * shape));
}

export interface PriceContractInput {
  spot: number;
  vol: number;
  today: IsoDate;
  rate?: number;
}

/** Theoretical value and per-lot risk of a contract at a given spot and vol. */
export function priceContract(
  c: OptionContract,
  p: PriceContractInput,
): Omit<OptionQuote, "bid" | "ask" | "last" | keyof OptionContract> {
  const years = tradingDaysBetween(p.today, c.expiry) / TRADING_DAYS_PER_YEAR;
  const greeks = bsGreeks({
    right: c.right,
    spot: p.spot,
    strike: c.strike,
    years,
    vol: p.vol,
    rate: p.rate ?? DEFAULT_RATE,
  });
  return {
    spot: p.spot,
    years,
    iv: p.vol,
    theo: greeks.price,
    greeks,
    cashDeltaPerLot: greeks.delta * p.spot * c.unit,
    vegaPerLot: vegaPerVolPoint(greeks.vega, c.unit),
    thetaPerLot: thetaPerTradingDay(greeks.theta, c.unit),
  };
}

interface UnderlyingState {
  u: Underlying;
  price: number;
  prevClose: number;
  atmVol: number;
}

export function createMarket(o: MarketOptions = {}): Market {
  const rng = createRng(o.seed ?? 1);
  const today = o.today ?? shanghaiToday();
  const rate = o.rate ?? DEFAULT_RATE;
  const dt = (o.secondsPerTick ?? 60) / TRADING_SECONDS_PER_DAY / TRADING_DAYS_PER_YEAR;
  const codes = o.underlyings ?? UNDERLYINGS.map((u) => u.code);
  const states = new Map<string, UnderlyingState>();
  for (const code of codes) {
    const u = underlyingByCode(code);
    if (!u) throw new RangeError(`unknown underlying code "${code}"`);
    // Start within ~1% of the reference so seeds differ but stay realistic.
    const price = fix(roundTo(u.referencePrice * (1 + 0.01 * (rng.next() * 2 - 1)), ETF_TICK), 3);
    states.set(code, { u, price, prevClose: price, atmVol: u.referenceVol });
  }
  const months = listedMonths(today);
  const chainList: OptionChain[] = [];
  const byCode = new Map<string, OptionContract>();
  const noise = new Map<string, number>();
  for (const s of states.values()) {
    for (const m of months) {
      const chain = buildChain({
        underlying: s.u,
        month: m.which,
        monthNumber: m.month,
        expiry: m.expiry,
        spot: s.price,
        strikesEachSide: o.strikesEachSide ?? 5,
      });
      chainList.push(chain);
      for (const c of chain.contracts) {
        byCode.set(c.code, c);
        noise.set(c.code, 0.002 * rng.gaussian());
      }
    }
  }
  let tickCount = 0;
  let cache: { tick: number; quotes: Map<string, OptionQuote> } | undefined;

  const step = (): void => {
    tickCount++;
    const sqrtDt = Math.sqrt(dt);
    const marketShock = rng.gaussian();
    const familyShock = new Map<UnderlyingFamily, number>();
    for (const s of states.values()) {
      let f = familyShock.get(s.u.family);
      if (f === undefined) {
        const load = MARKET_LOADING[s.u.family];
        f = load * marketShock + Math.sqrt(1 - load * load) * rng.gaussian();
        familyShock.set(s.u.family, f);
      }
      // Twins share the family shock; a little idiosyncratic noise keeps them apart.
      const z = 0.995 * f + Math.sqrt(1 - 0.995 * 0.995) * rng.gaussian();
      const move = s.atmVol * sqrtDt * z - 0.5 * s.atmVol * s.atmVol * dt;
      s.price = Math.max(ETF_TICK, s.price * Math.exp(move));
      // ATM vol mean-reverts to the ETF's typical vol and rises when it falls (leverage effect).
      s.atmVol = Math.min(
        1,
        Math.max(0.05, s.atmVol + 0.05 * (s.u.referenceVol - s.atmVol) - 0.3 * move + 0.002 * rng.gaussian()),
      );
    }
    for (const [code, n] of noise) noise.set(code, 0.9 * n + 0.0005 * rng.gaussian());
  };

  const buildQuote = (c: OptionContract, s: UnderlyingState): OptionQuote => {
    const spot = fix(roundTo(s.price, ETF_TICK), 3);
    const years = tradingDaysBetween(today, c.expiry) / TRADING_DAYS_PER_YEAR;
    const vol = Math.max(
      0.05,
      smileVol(s.atmVol, spot, c.strike, years, MONTH_ORDER[c.month]) + (noise.get(c.code) ?? 0),
    );
    const priced = priceContract(c, { spot, vol, today, rate });
    const half = Math.max(OPTION_TICK, priced.theo * 0.005);
    const bid = Math.max(0, fix(Math.floor((priced.theo - half) / OPTION_TICK) * OPTION_TICK, 4));
    const ask = fix(Math.max(Math.ceil((priced.theo + half) / OPTION_TICK) * OPTION_TICK, bid + OPTION_TICK), 4);
    return { ...c, ...priced, bid, ask, last: fix(roundTo(priced.theo, OPTION_TICK), 4) };
  };

  const quotes = (): Map<string, OptionQuote> => {
    if (cache?.tick === tickCount) return cache.quotes;
    const map = new Map<string, OptionQuote>();
    for (const chain of chainList) {
      const s = states.get(chain.underlying.code)!;
      for (const c of chain.contracts) map.set(c.code, buildQuote(c, s));
    }
    cache = { tick: tickCount, quotes: map };
    return map;
  };

  const underlyingQuote = (code: string): UnderlyingQuote | undefined => {
    const s = states.get(code);
    if (!s) return undefined;
    const last = fix(roundTo(s.price, ETF_TICK), 3);
    return {
      code,
      name: s.u.name,
      exchange: s.u.exchange,
      last,
      bid: fix(last - ETF_TICK, 3),
      ask: fix(last + ETF_TICK, 3),
      prevClose: s.prevClose,
      changePct: fix((last / s.prevClose - 1) * 100, 4),
      atmVol: fix(s.atmVol, 6),
    };
  };

  return {
    today,
    rate,
    step,
    tick: () => tickCount,
    listedUnderlyings: () => [...states.values()].map((s) => s.u),
    spot: (code) => underlyingQuote(code)?.last,
    chain: (underlying, month) => chainList.find((c) => c.underlying.code === underlying && c.month === month),
    chains: () => [...chainList],
    contract: (code) => byCode.get(code),
    quote: (code) => quotes().get(code),
    underlyingQuote,
    snapshot: () => ({
      tick: tickCount,
      today,
      underlyings: [...states.keys()].map((code) => underlyingQuote(code)!),
      options: [...quotes().values()],
    }),
  };
}

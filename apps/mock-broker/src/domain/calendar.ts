import type { Month } from "./types.js";

/**
 * ETF option calendar (SSE/SZSE): a contract expires on the fourth Wednesday of
 * its month. Listed months are 当月, 下月 and the next two quarterly months
 * (Mar/Jun/Sep/Dec) after 下月: 当季, 下季.
 *
 * Dates are ISO strings "YYYY-MM-DD" (the exchange's calendar day in UTC+8), so
 * nothing here depends on the server's time zone.
 *
 * Simplification: exchange holidays are ignored. A real expiry that falls on a
 * holiday moves to the next trading day, and trading-day counts here include
 * weekdays that are holidays. Good enough for a mock; not for a real book.
 */
export type IsoDate = string;

export interface YearMonth {
  year: number;
  /** 1..12 */
  month: number;
}

export interface ListedMonth extends YearMonth {
  which: Month;
  expiry: IsoDate;
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function toUtc(date: IsoDate): Date {
  const m = ISO_DATE.exec(date);
  if (!m) throw new RangeError(`not an ISO date (YYYY-MM-DD): "${date}"`);
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  if (Number.isNaN(d.getTime()) || d.getUTCMonth() !== Number(m[2]) - 1 || d.getUTCDate() !== Number(m[3]))
    throw new RangeError(`not a calendar date: "${date}"`);
  return d;
}

function fromUtc(d: Date): IsoDate {
  return d.toISOString().slice(0, 10);
}

export function isoDate(year: number, month: number, day: number): IsoDate {
  return fromUtc(new Date(Date.UTC(year, month - 1, day)));
}

/** Today's date on the exchange's calendar (Asia/Shanghai, UTC+8, no DST). */
export function shanghaiToday(now: Date = new Date()): IsoDate {
  return fromUtc(new Date(now.getTime() + 8 * 3600_000));
}

/** Expiry day of a month's contracts: its fourth Wednesday. */
export function fourthWednesday(year: number, month: number): IsoDate {
  const firstWeekday = new Date(Date.UTC(year, month - 1, 1)).getUTCDay(); // 0 = Sunday
  const firstWednesday = 1 + ((3 - firstWeekday + 7) % 7);
  return isoDate(year, month, firstWednesday + 21);
}

function addMonths(ym: YearMonth, n: number): YearMonth {
  const index = ym.year * 12 + (ym.month - 1) + n;
  return { year: Math.floor(index / 12), month: (index % 12) + 1 };
}

function isQuarterMonth(month: number): boolean {
  return month % 3 === 0;
}

/**
 * The four listed months on `today`. 当月 is this calendar month until its expiry
 * day; on the expiry day and after, it is next month (the expiring series is
 * no longer offered for new instructions).
 */
export function listedMonths(today: IsoDate): ListedMonth[] {
  const t = toUtc(today);
  let current: YearMonth = { year: t.getUTCFullYear(), month: t.getUTCMonth() + 1 };
  if (today >= fourthWednesday(current.year, current.month)) current = addMonths(current, 1);
  const next = addMonths(current, 1);
  let quarter = addMonths(next, 1);
  while (!isQuarterMonth(quarter.month)) quarter = addMonths(quarter, 1);
  const nextQuarter = addMonths(quarter, 3);
  const make = (which: Month, ym: YearMonth): ListedMonth => ({
    which,
    ...ym,
    expiry: fourthWednesday(ym.year, ym.month),
  });
  return [
    make("current", current),
    make("next", next),
    make("current_quarter", quarter),
    make("next_quarter", nextQuarter),
  ];
}

export function resolveMonth(which: Month, today: IsoDate): ListedMonth {
  const found = listedMonths(today).find((m) => m.which === which);
  // listedMonths always returns all four.
  if (!found) throw new Error(`unreachable: no listed month ${which}`);
  return found;
}

export function expiryOf(which: Month, today: IsoDate): IsoDate {
  return resolveMonth(which, today).expiry;
}

/** Which listed month a calendar month number (1..12, as in "12月") is on `today`, if any. */
export function listedMonthByNumber(month: number, today: IsoDate): ListedMonth | undefined {
  return listedMonths(today).find((m) => m.month === month);
}

/**
 * Trading days after `from` up to and including `to` (weekdays only, holidays
 * ignored). The day before expiry gives 1; `to` <= `from` gives 0.
 */
export function tradingDaysBetween(from: IsoDate, to: IsoDate): number {
  const a = toUtc(from).getTime();
  const b = toUtc(to).getTime();
  if (b <= a) return 0;
  const days = Math.round((b - a) / 86_400_000);
  const fullWeeks = Math.floor(days / 7);
  let count = fullWeeks * 5;
  const startDay = new Date(a).getUTCDay();
  for (let i = 1; i <= days % 7; i++) {
    const wd = (startDay + i) % 7;
    if (wd !== 0 && wd !== 6) count++;
  }
  return count;
}

export function isWeekday(date: IsoDate): boolean {
  const wd = toUtc(date).getUTCDay();
  return wd !== 0 && wd !== 6;
}

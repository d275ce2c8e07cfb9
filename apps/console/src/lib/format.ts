import type { Size, Strike } from "./types";

// How numbers, times and the desk's vocabulary look on screen. One place, so every table
// agrees (thousands separators, signs, decimals) and tests pin the exact text.

const EMPTY = "—";

function finite(value: number | null | undefined): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const grouped = (digits: number) =>
  new Intl.NumberFormat("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const groupedCache = new Map<number, Intl.NumberFormat>();
function fixed(value: number, digits: number): string {
  let f = groupedCache.get(digits);
  if (!f) {
    f = grouped(digits);
    groupedCache.set(digits, f);
  }
  // -0 and values that round to zero print without a sign.
  const text = f.format(value);
  return /^-0(\.0+)?$/.test(text) ? text.slice(1) : text;
}

/** Whole yuan with thousands separators: 1234567.8 -> "1,234,568". */
export function formatYuan(value: number | null | undefined): string {
  if (!finite(value)) return EMPTY;
  const text = integer.format(Math.round(value));
  return text === "-0" ? "0" : text;
}

/** Signed whole yuan for P&L and greeks: "+12,345", "-8,000", "0". */
export function formatSignedYuan(value: number | null | undefined): string {
  if (!finite(value)) return EMPTY;
  const rounded = Math.round(value);
  if (rounded === 0) return "0";
  return rounded > 0 ? `+${integer.format(rounded)}` : integer.format(rounded);
}

/** A price with a fixed number of decimals (options 4, ETFs 3). */
export function formatPrice(value: number | null | undefined, digits = 4): string {
  if (!finite(value)) return EMPTY;
  return fixed(value, digits);
}

/** A fraction as a signed percentage: 0.0123 -> "+1.23%". */
export function formatChange(fraction: number | null | undefined, digits = 2): string {
  if (!finite(fraction)) return EMPTY;
  const text = fixed(fraction * 100, digits);
  return `${fraction > 0 && !/^0(\.0+)?$/.test(text) ? "+" : ""}${text}%`;
}

/** A fraction as a plain percentage (progress, implied vol): 0.5 -> "50%", 0.1834 -> "18.3%". */
export function formatPercent(fraction: number | null | undefined, digits = 0): string {
  if (!finite(fraction)) return EMPTY;
  return `${fixed(fraction * 100, digits)}%`;
}

/** Signed contract count: "+25", "-40", "0". */
export function formatQuantity(value: number | null | undefined): string {
  if (!finite(value)) return EMPTY;
  if (value === 0) return "0";
  return value > 0 ? `+${integer.format(value)}` : integer.format(value);
}

/** How long ago: "0.4 s", "12 s", "3 min", "2 h". */
export function formatAge(ms: number | null | undefined): string {
  if (!finite(ms)) return EMPTY;
  const clamped = Math.max(0, ms);
  if (clamped < 10_000) return `${(clamped / 1000).toFixed(1)} s`;
  if (clamped < 60_000) return `${Math.floor(clamped / 1000)} s`;
  if (clamped < 3_600_000) return `${Math.floor(clamped / 60_000)} min`;
  return `${Math.floor(clamped / 3_600_000)} h`;
}

/** Wall-clock time of an ISO timestamp in the browser's zone, "14:03:21". */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return EMPTY;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return EMPTY;
  return date.toLocaleTimeString("en-GB", { hour12: false });
}

const MONTHS: Readonly<Record<string, string>> = {
  current: "当月",
  next: "下月",
  current_quarter: "当季",
  next_quarter: "下季",
};

/** The desk's month names: "current" -> "当月". */
export function formatMonth(month: string | null | undefined): string {
  if (!month) return EMPTY;
  return MONTHS[month] ?? month;
}

/** An instruction's size: "5 lots", "vega ¥10,000 / vol pt", "cash delta ¥50,000". */
export function formatSize(size: Size): string {
  switch (size.unit) {
    case "lots":
      return `${integer.format(size.value)} ${size.value === 1 ? "lot" : "lots"}`;
    case "vega":
      return `vega ¥${integer.format(size.value)} / vol pt`;
    case "delta":
      return `cash delta ¥${integer.format(size.value)}`;
  }
}

/** A strike selector: "ATM", "OTM 1", "ITM 2", "6.000". */
export function formatStrike(strike: Strike): string {
  switch (strike.kind) {
    case "atm":
      return "ATM";
    case "otm":
      return `OTM ${strike.steps}`;
    case "itm":
      return `ITM ${strike.steps}`;
    case "price":
      return fixed(strike.price, 3);
  }
}

export function formatSide(side: "buy" | "sell"): string {
  return side === "buy" ? "Buy" : "Sell";
}

export function formatRight(right: "call" | "put"): string {
  return right === "call" ? "Call 购" : "Put 沽";
}

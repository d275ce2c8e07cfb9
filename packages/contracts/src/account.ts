import { z } from "zod";
import {
  AccountId,
  ContractCode,
  Greeks,
  IsoDate,
  Price,
  Quantity,
  Right,
  Timestamp,
  UnderlyingCode,
  Yuan,
} from "./common.js";

/** A virtual account: a slice of a broker account that the desk trades and risks separately. */
export const Account = z.object({
  id: AccountId,
  name: z.string(),
  broker: z.string().describe("broker or counter the account sits at"),
  enabled: z.boolean(),
  balance: Yuan.describe("equity, yuan"),
  available: Yuan.describe("cash available for new margin, yuan"),
  margin: z.number().nonnegative().describe("margin in use, yuan"),
  dailyPnl: Yuan.describe("P&L since today's open, yuan"),
  totalPnl: Yuan.describe("P&L since inception, yuan"),
});

/**
 * Position greeks are position totals in yuan: delta = cash delta (Δ·S·unit·qty),
 * gamma = change of cash delta for a 1% move, vega = per vol point, theta = per trading day.
 */
export const PositionGreeks = Greeks.describe(
  "position totals, yuan: delta = cash delta, gamma = cash-delta change per 1% move, vega per vol point, theta per trading day",
);

/** One option contract held in an account. */
export const Position = z.object({
  accountId: AccountId,
  code: ContractCode.describe("option contract code, e.g. 10004567"),
  name: z.string().describe('display name, e.g. "500ETF购12月6000"'),
  underlying: UnderlyingCode,
  right: Right,
  strike: z.number().positive(),
  expiry: IsoDate,
  multiplier: z.int().positive().describe("contract unit: 10000, or adjusted (e.g. 10153) after a dividend"),
  quantity: Quantity.describe("contracts, signed: short < 0"),
  avgPrice: Price.describe("average open price per unit of underlying"),
  lastPrice: Price,
  pnl: Yuan,
  greeks: PositionGreeks,
});

/** Risk of one underlying's options within an account. */
export const UnderlyingRisk = z.object({
  underlying: UnderlyingCode,
  cashDelta: Yuan,
  gamma: Yuan,
  vega: Yuan,
  theta: Yuan,
});

/**
 * Account risk. VaR is a 1-day loss reported as a positive number (z 1.645 / 2.326),
 * so var99 >= var95 >= 0 for any sane model.
 */
export const RiskMetrics = z.object({
  accountId: AccountId,
  asOf: Timestamp,
  cashDelta: Yuan.describe("Δ·S·unit·qty summed, yuan"),
  gamma: Yuan.describe("change of cash delta for a 1% move of the underlying, yuan"),
  vega: Yuan.describe("yuan per 1 vol point"),
  theta: Yuan.describe("yuan per trading day (240-day year)"),
  var95: z.number().nonnegative().describe("1-day VaR at 95%, positive loss, yuan"),
  var99: z.number().nonnegative().describe("1-day VaR at 99%, positive loss, yuan"),
  byUnderlying: z.array(UnderlyingRisk),
});

export const PositionMismatch = z.object({
  code: ContractCode,
  local: Quantity.describe("quantity the trading system believes it holds"),
  broker: Quantity.describe("quantity the broker reports"),
});

export const VerifyPositionsResult = z.object({
  accountId: AccountId,
  matched: z.boolean(),
  checkedAt: Timestamp,
  mismatches: z.array(PositionMismatch),
});

export const GetAccountsArgs = z.tuple([]);
export const AccountIdArgs = z.tuple([AccountId]);
export const SetAccountEnabledArgs = z.tuple([AccountId, z.boolean().describe("enabled")]);

export type Account = z.infer<typeof Account>;
export type Position = z.infer<typeof Position>;
export type UnderlyingRisk = z.infer<typeof UnderlyingRisk>;
export type RiskMetrics = z.infer<typeof RiskMetrics>;
export type PositionMismatch = z.infer<typeof PositionMismatch>;
export type VerifyPositionsResult = z.infer<typeof VerifyPositionsResult>;

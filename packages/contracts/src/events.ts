import { z } from "zod";
import {
  AccountId,
  AlgorithmId,
  ContractCode,
  ExecutionId,
  Greeks,
  IsoDate,
  Price,
  Right,
  Timestamp,
  UnderlyingCode,
} from "./common.js";
import { Account, RiskMetrics } from "./account.js";
import { Algorithm, AlgorithmLog } from "./algorithm.js";
import { Execution } from "./instruction.js";

/** Every event carries a per-topic sequence (gaps reveal loss) and its publish time. */
const eventMeta = {
  seq: z.int().nonnegative().describe("increasing per topic"),
  ts: Timestamp,
};

const tickFields = {
  ...eventMeta,
  symbol: ContractCode,
  name: z.string(),
  last: Price,
  bid: Price,
  ask: Price,
  volume: z.int().nonnegative(),
  change: z.number().describe("change of last since previous close, as a fraction (0.012 = +1.2%)"),
};

export const UnderlyingTick = z.object({ ...tickFields, kind: z.literal("underlying") });

/** Option greeks per contract in the textbook units: delta, gamma per unit of underlying, vega per vol point, theta per trading day. */
export const OptionTick = z.object({
  ...tickFields,
  kind: z.literal("option"),
  underlying: UnderlyingCode,
  right: Right,
  strike: z.number().positive(),
  expiry: IsoDate,
  multiplier: z.int().positive(),
  iv: z.number().nonnegative().describe("implied volatility as a fraction (0.18 = 18%)"),
  greeks: Greeks,
});

/** market.<symbol> */
export const MarketTick = z.discriminatedUnion("kind", [UnderlyingTick, OptionTick]);

/** account.<accountId> */
export const AccountEvent = z.object({
  ...eventMeta,
  accountId: AccountId,
  account: Account,
  risk: RiskMetrics,
});

/** algorithm.<algorithmId> */
export const AlgorithmEvent = z.object({
  ...eventMeta,
  algorithmId: AlgorithmId,
  algorithm: Algorithm,
  log: AlgorithmLog.nullish(),
});

/** execution.<executionId> */
export const ExecutionEvent = z.object({
  ...eventMeta,
  executionId: ExecutionId,
  execution: Execution,
});

export type UnderlyingTick = z.infer<typeof UnderlyingTick>;
export type OptionTick = z.infer<typeof OptionTick>;
export type MarketTick = z.infer<typeof MarketTick>;
export type AccountEvent = z.infer<typeof AccountEvent>;
export type AlgorithmEvent = z.infer<typeof AlgorithmEvent>;
export type ExecutionEvent = z.infer<typeof ExecutionEvent>;

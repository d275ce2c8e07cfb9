import { z } from "zod";
import { AccountId, AlgorithmId, NonNegativeQuantity, Progress, Timestamp } from "./common.js";

export const AlgorithmKind = z.enum(["TWAP", "VWAP", "ICEBERG", "DELTA_HEDGER"]);
export const AlgorithmStatus = z.enum(["running", "paused", "completed", "stopped", "failed"]);
export const AlgorithmCommand = z.enum(["start", "pause", "resume", "stop"]);
export const LogLevel = z.enum(["debug", "info", "warn", "error"]);

/** Algorithm parameters are flat: what a desk types into a form. */
export const AlgorithmParameterValue = z.union([z.string(), z.number(), z.boolean()]);

export const Algorithm = z.object({
  id: AlgorithmId,
  name: z.string(),
  kind: AlgorithmKind,
  status: AlgorithmStatus,
  progress: Progress,
  accountId: AccountId.describe("account the algorithm trades for"),
  parameters: z.record(z.string(), AlgorithmParameterValue),
  targetQuantity: NonNegativeQuantity,
  filledQuantity: NonNegativeQuantity,
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export const AlgorithmLog = z.object({
  time: Timestamp,
  level: LogLevel,
  message: z.string(),
});

export const GetAlgorithmsArgs = z.tuple([]);
export const AlgorithmIdArgs = z.tuple([AlgorithmId]);
export const SendAlgorithmCommandArgs = z.tuple([AlgorithmId, AlgorithmCommand]);

export type AlgorithmKind = z.infer<typeof AlgorithmKind>;
export type AlgorithmStatus = z.infer<typeof AlgorithmStatus>;
export type AlgorithmCommand = z.infer<typeof AlgorithmCommand>;
export type LogLevel = z.infer<typeof LogLevel>;
export type AlgorithmParameterValue = z.infer<typeof AlgorithmParameterValue>;
export type Algorithm = z.infer<typeof Algorithm>;
export type AlgorithmLog = z.infer<typeof AlgorithmLog>;

import { z } from "zod";

/**
 * Building blocks shared by every service: ids, times, the option vocabulary
 * (side, right, month, size) and the backend error codes.
 *
 * Optional fields are `.nullish()` throughout: the Python side naturally sends
 * `None` for "absent", and rejecting it would only push a conversion onto every
 * worker.
 */

/** Any identifier the trading system hands out (account, algorithm, execution, user). */
export const Id = z.string().min(1).max(200);
export const UserId = Id.describe("user id");
export const AccountId = Id.describe("virtual account id, e.g. account1");
export const AlgorithmId = Id.describe("algorithm id");
export const ExecutionId = Id.describe("execution id");

/**
 * ISO-8601 date-time WITH a zone ("Z" or "+08:00"). Strings, not Date, so the
 * JSON schema, pickle and Python all agree; a zone is required because a naive
 * time is ambiguous between the exchange (UTC+8) and the server.
 */
export const Timestamp = z.iso.datetime({ offset: true }).describe("ISO-8601 date-time with zone");
/** ISO-8601 calendar date, e.g. an option's expiry "2025-12-24". */
export const IsoDate = z.iso.date().describe("ISO-8601 date (YYYY-MM-DD)");

/** Six-digit exchange code of an ETF underlying: 510500 (SSE), 159922 (SZSE), ... */
export const UnderlyingCode = z
  .string()
  .regex(/^\d{6}$/, "underlying must be a six-digit exchange code such as 510500")
  .describe("exchange code of the underlying ETF, e.g. 510500");
/** Exchange code of an option contract or any tradable symbol, e.g. "10004567". */
export const ContractCode = z
  .string()
  .min(1)
  .max(64)
  .regex(/^\S+$/, "contract code must not contain whitespace")
  .describe("exchange code of a contract");

/**
 * A list a caller sends: at most `max` entries, each once. A repeated entry is
 * refused (with the index of the repeat), never merged: `["account1", "account1"]`
 * would otherwise send one order per entry. Entries are compared by value (objects by
 * their canonical JSON), and JSON Schema readers see `uniqueItems`.
 */
export function distinctList<T extends z.ZodType>(
  item: T,
  o: { max: number; min?: number; what: string; description: string },
) {
  // meta last: zod keeps metadata on the instance it was set on, not on later copies (.min, .describe).
  return z
    .array(item)
    .min(o.min ?? 0)
    .max(o.max)
    .superRefine((list, ctx) => {
      const seen = new Map<string, number>();
      for (let i = 0; i < list.length; i++) {
        const key = canonicalJson(list[i]);
        const first = seen.get(key);
        if (first === undefined) seen.set(key, i);
        else
          ctx.addIssue({ code: "custom", path: [i], message: `duplicate ${o.what}: the same as ${o.what} ${first}` });
      }
    })
    .meta({ description: o.description, uniqueItems: true });
}

/** JSON with object keys sorted, so equal values compare equal whatever the key order. */
function canonicalJson(value: unknown): string {
  if (typeof value !== "object" || value === null) return JSON.stringify(value) ?? "undefined";
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.keys(value)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(",")}}`;
}

/** How many accounts one call or subscription may name: the desk has tens. */
export const MAX_ACCOUNTS_PER_CALL = 100;

/** Yuan amount, signed (P&L, cash delta, ...). zod 4 numbers are already finite. */
export const Yuan = z.number().describe("yuan");
/** A price: never negative. */
export const Price = z.number().nonnegative();
/** 0..1, e.g. an algorithm's or an execution's progress. */
export const Progress = z.number().min(0).max(1).describe("fraction done, 0..1");
/** A count of contracts; signed where it is a position (short < 0). */
export const Quantity = z.int();
export const NonNegativeQuantity = z.int().nonnegative();

export const Side = z.enum(["buy", "sell"]);
/** Option right: 购 (call) or 沽 (put). */
export const Right = z.enum(["call", "put"]);

/**
 * Listed months of an ETF option: 当月, 下月, 当季, 下季.
 * Relative, because the instruction language is: the backend resolves them to expiries.
 */
export const Month = z.enum(["current", "next", "current_quarter", "next_quarter"]);

/**
 * How much to trade: a number of lots, or a target in risk terms that the
 * backend converts to lots ("万1 的v" = { unit: "vega", value: 10000 }).
 */
export const Size = z.discriminatedUnion("unit", [
  z.object({ unit: z.literal("lots"), value: z.int().positive().describe("contracts per leg") }),
  z.object({ unit: z.literal("vega"), value: z.number().positive().describe("yuan per vol point") }),
  z.object({ unit: z.literal("delta"), value: z.number().positive().describe("yuan of cash delta") }),
]);

/** Greeks of one option or one position (see the field using it for units). */
export const Greeks = z.object({
  delta: z.number(),
  gamma: z.number(),
  vega: z.number(),
  theta: z.number(),
});

/** Error codes a backend error message may start with ("NOT_FOUND: no account x"). */
export const ErrorCode = z.enum([
  "NOT_FOUND",
  "INVALID_ARGUMENT",
  "PERMISSION_DENIED",
  "CONFLICT",
  "UNAUTHENTICATED",
  "INTERNAL",
]);

export type Id = z.infer<typeof Id>;
export type Timestamp = z.infer<typeof Timestamp>;
export type IsoDate = z.infer<typeof IsoDate>;
export type UnderlyingCode = z.infer<typeof UnderlyingCode>;
export type ContractCode = z.infer<typeof ContractCode>;
export type Side = z.infer<typeof Side>;
export type Right = z.infer<typeof Right>;
export type Month = z.infer<typeof Month>;
export type Size = z.infer<typeof Size>;
export type Greeks = z.infer<typeof Greeks>;
export type ErrorCode = z.infer<typeof ErrorCode>;

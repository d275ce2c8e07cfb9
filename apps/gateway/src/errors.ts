import { type TRPCDefaultErrorShape, TRPCError, getTRPCErrorFromUnknown } from "@trpc/server";
import type { RealtimeError } from "@desk/contracts";
import { z } from "zod";
import { OutcomeUnknown } from "./backend/errors.js";

/** Input validation failures, reshaped so REST clients get a readable message (see inputErrors). */
class InputValidationError extends Error {
  override readonly name = "InputValidationError";
  constructor(
    message: string,
    readonly issues: ReadonlyArray<{ path: PropertyKey[]; message: string; code?: string }>,
  ) {
    super(message);
  }
}

function isZodError(err: unknown): err is z.ZodError {
  return err instanceof z.ZodError || (err instanceof Error && err.name === "ZodError");
}

/** "accounts.1: Too small: expected string to have >=1 characters; text: Required" */
export function readableIssues(err: z.ZodError): string {
  return err.issues
    .slice(0, 10)
    .map((i) => (i.path.length > 0 ? `${i.path.map(String).join(".")}: ${i.message}` : i.message))
    .join("; ");
}

/**
 * A ZodError from input parsing becomes a BAD_REQUEST whose message lists the
 * problems. trpc-to-openapi would otherwise answer REST clients with a bare
 * "Input validation failed". Applied by the guard, which runs before .input().
 */
export function withReadableInputErrors<R extends { ok: boolean; error?: TRPCError }>(result: R): R {
  const cause = result.error?.cause;
  if (result.ok || result.error?.code !== "BAD_REQUEST" || !isZodError(cause)) return result;
  return { ...result, error: inputError(cause) };
}

/** An input that failed its schema, as every transport reports it: BAD_REQUEST "Invalid input: ...", with the issues. */
export function inputError(err: z.ZodError): TRPCError {
  const message = `Invalid input: ${readableIssues(err)}`;
  return new TRPCError({ code: "BAD_REQUEST", message, cause: new InputValidationError(message, err.issues) });
}

/** Parses an untrusted input with `schema` (what tRPC's .input() does for a transport that is not tRPC). */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw inputError(parsed.error);
  return parsed.data;
}

/** An error's own text is kept from clients when it is unexpected (a bug, not a refusal): it stays in the logs. */
function isUnexpected(error: TRPCError): boolean {
  return error.code === "INTERNAL_SERVER_ERROR" && error.cause !== undefined && !(error.cause instanceof TRPCError);
}

/** A write whose outcome is unknown: the ids the caller needs to find out (OUTCOME_UNKNOWN). */
function unknownOutcomeOf(error: TRPCError) {
  return error.cause instanceof OutcomeUnknown ? { outcome: "unknown" as const, ...error.cause.ids } : undefined;
}

function issuesOf(error: TRPCError) {
  return error.cause instanceof InputValidationError
    ? error.cause.issues.map((i) => ({ path: i.path.map(String), message: i.message }))
    : undefined;
}

/** What a client sees of an error outside tRPC's own wire format (socket.io): the code and message REST shows, and the input issues. */
export function publicError(err: unknown): Omit<RealtimeError, "event"> & { code: TRPCError["code"] } {
  const error = getTRPCErrorFromUnknown(err);
  const issues = issuesOf(error);
  return {
    code: error.code,
    message: isUnexpected(error) ? "Internal server error" : error.message,
    ...(issues ? { issues } : {}),
    ...(unknownOutcomeOf(error) ?? {}),
  };
}

/**
 * The error shape clients get. Stacks stay in the logs; unexpected internal errors
 * keep their text there too and say only "Internal server error"; input errors
 * carry their issues (path and message), for forms and REST clients; a write whose
 * outcome is unknown (504) carries `outcome: "unknown"` and the ids to check it by
 * (requestId, clientOrderId when given, service, method).
 */
export function formatError({ shape, error }: { shape: TRPCDefaultErrorShape; error: TRPCError }) {
  const { stack: _stack, ...data } = shape.data;
  const issues = issuesOf(error);
  const unknownOutcome = unknownOutcomeOf(error);
  return {
    ...shape,
    message: isUnexpected(error) ? "Internal server error" : shape.message,
    data: { ...data, ...(issues ? { issues } : {}), ...(unknownOutcome ?? {}) },
  };
}

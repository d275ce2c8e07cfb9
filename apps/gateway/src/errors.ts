import { type TRPCDefaultErrorShape, TRPCError } from "@trpc/server";
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
  const message = `Invalid input: ${readableIssues(cause)}`;
  return {
    ...result,
    error: new TRPCError({ code: "BAD_REQUEST", message, cause: new InputValidationError(message, cause.issues) }),
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
  const unexpected =
    error.code === "INTERNAL_SERVER_ERROR" && error.cause !== undefined && !(error.cause instanceof TRPCError);
  const issues = error.cause instanceof InputValidationError ? error.cause.issues : undefined;
  const unknownOutcome = error.cause instanceof OutcomeUnknown ? error.cause.ids : undefined;
  return {
    ...shape,
    message: unexpected ? "Internal server error" : shape.message,
    data: {
      ...data,
      ...(issues ? { issues: issues.map((i) => ({ path: i.path.map(String), message: i.message })) } : {}),
      ...(unknownOutcome ? { outcome: "unknown" as const, ...unknownOutcome } : {}),
    },
  };
}

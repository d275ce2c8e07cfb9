import type { z } from "zod";
import { type BackendError, parseBackendError, RpcReply } from "./rpc.js";
import { contracts, type MethodContract, type MethodName, type ResultOf, type ServiceName } from "./services.js";

export type ReplyOutcome<T> = { ok: true; result: T } | { ok: false; error: BackendError };

/** "result.0.quantity: Invalid input: expected int" — short enough for a log line or an error message. */
export function describeIssues(error: z.ZodError, root = ""): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${[root, ...i.path.map(String)].filter(Boolean).join(".") || "(root)"}: ${i.message}`)
    .join("; ");
}

/**
 * Reads a decoded reply (`[true, result]` or `[false, message]`) of one method:
 * a success whose result matches the method's contract, or a BackendError. A
 * reply that breaks the contract becomes an INTERNAL error naming the field, so a
 * bad shape from the Python side never reaches a client as if it were valid.
 */
export function readReply<S extends ServiceName, M extends MethodName<S>>(
  service: S,
  method: M,
  reply: unknown,
): ReplyOutcome<ResultOf<S, M>> {
  const where = `${service}.${method}`;
  const envelope = RpcReply.safeParse(reply);
  if (!envelope.success) {
    return {
      ok: false,
      error: { code: "INTERNAL", message: `bad reply from ${where}: expected [true, result] or [false, message]` },
    };
  }
  const [ok, payload] = envelope.data;
  if (!ok) return { ok: false, error: parseBackendError(payload) };
  const contract = contracts[service][method] as MethodContract;
  const result = contract.result.safeParse(payload);
  if (!result.success) {
    return {
      ok: false,
      error: { code: "INTERNAL", message: `bad reply from ${where}: ${describeIssues(result.error, "result")}` },
    };
  }
  return { ok: true, result: result.data as ResultOf<S, M> };
}

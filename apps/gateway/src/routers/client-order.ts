import { createHash } from "node:crypto";
import { z } from "zod";

/** The caller's idempotency key for an execution (the SDK's newClientOrderId() makes one). */
export const ClientOrderId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, "1-64 characters of A-Z a-z 0-9 _ -")
  .describe(
    "your idempotency key: a retry with the same key (same user) gets the first attempt's answer instead of starting another execution: the execution, or the unknown outcome until the gateway learns it; remembered by the gateway for an hour, or with ZMQ_DEDUPE_WRITES by the trading system's reply cache (2 minutes by default)",
  );

/**
 * The MDP requestId for an execution with a clientOrderId: derived from the user
 * and the key only, so it is the same on a retried HTTP call, a resubscribe, or
 * another gateway process, and the worker's reply cache answers the repeat with
 * the first execution. Hashed with the user so one user cannot hit another's entry.
 */
export function clientOrderRequestId(userId: string, clientOrderId: string): string {
  const digest = createHash("sha256")
    .update(`execute_instructions\u0000${userId}\u0000${clientOrderId}`)
    .digest("base64url");
  return `co-${digest.slice(0, 32)}`;
}

/**
 * A fresh idempotency key for `instruction.execute` / `instruction.executeLive`
 * (their optional `clientOrderId`: 1-64 characters of A-Z a-z 0-9 _ -).
 *
 * Make one per order you mean to place, keep it with the order, and send the
 * same key on every retry: the gateway derives the backend request id from your
 * user and the key, so a retried HTTP call, a timed-out call sent again or a
 * resubscribe gets the SAME execution back instead of a second one (as long as
 * the trading system still remembers the first reply: its reply cache, 2 minutes
 * by default). A new order needs a new key.
 *
 * ```ts
 * const clientOrderId = newClientOrderId();
 * const input = { instructions, accounts, clientOrderId };
 * const execution = await client.instruction.execute.mutate(input); // safe to repeat with the same input
 * ```
 */
export function newClientOrderId(): string {
  // globalThis.crypto: Node 19+ and browsers (secure contexts), no import needed in either.
  return globalThis.crypto.randomUUID();
}

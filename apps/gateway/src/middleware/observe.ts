import { TRPCError } from "@trpc/server";
import type { CallClock, CallTiming } from "../context.js";
import type { GatewayRuntime } from "../runtime.js";

type Outcome = { ok: true; data?: unknown } | { ok: false; error: TRPCError };

/**
 * Runs one call under the gateway's lifecycle and metrics: refused while the
 * gateway drains, counted in flight (shutdown waits for these), then its
 * outcome code and duration recorded and failures that are the gateway's or the
 * backend's fault logged. `run` is the rest of the call (checks, then next()); it
 * adds its backend time to the timing it is given, so that the gateway's own
 * share of a query or mutation (arrival to reply write, minus the backend's) goes
 * to gateway_call_overhead_seconds once `clock` has seen the reply written.
 */
export async function observe<R extends Outcome>(
  runtime: GatewayRuntime,
  call: { path: string; type: string; clock: CallClock | null },
  run: (timing: CallTiming) => Promise<R>,
): Promise<R> {
  const { lifecycle, metrics, logger } = runtime;
  if (lifecycle.draining) {
    throw new TRPCError({ code: "SERVICE_UNAVAILABLE", message: "The gateway is shutting down; retry shortly" });
  }
  const { path, type } = call;
  const started = performance.now();
  const timing: CallTiming = { arrivedAt: call.clock?.arrivedAt() ?? started, backendMs: 0 };
  lifecycle.inFlight++;
  let code = "INTERNAL_SERVER_ERROR";
  let data: unknown;
  try {
    const result = await run(timing);
    if (result.ok) data = result.data;
    code = result.ok ? "OK" : result.error.code;
    if (!result.ok) logFailure(runtime, path, code, result.error.cause ?? result.error.message);
    return result;
  } catch (err) {
    // Thrown by the checks before next(): counted like any other outcome.
    code = err instanceof TRPCError ? err.code : "INTERNAL_SERVER_ERROR";
    logFailure(runtime, path, code, err instanceof TRPCError ? (err.cause ?? err.message) : err);
    throw err;
  } finally {
    const seconds = (performance.now() - started) / 1000;
    metrics.procedureCalls.inc({ path, type, code });
    metrics.procedureLatency.observe({ path, type }, seconds);
    if (call.clock && type !== "subscription") call.clock.settle(timing, data, metrics.recordCallOverhead);
    logger.debug({ path, type, code, ms: Math.round(seconds * 1000) }, "procedure");
    lifecycle.inFlight--;
  }
}

function logFailure(runtime: GatewayRuntime, path: string, code: string, err: unknown): void {
  if (code === "INTERNAL_SERVER_ERROR" || code === "BAD_GATEWAY")
    runtime.logger.error({ path, err }, "procedure failed");
}

import { TRPCError } from "@trpc/server";
import { RetryAfter } from "../rate-limit.js";
import type { GatewayRuntime } from "../runtime.js";

/** Per client address, before authentication: a flood of bad tokens is refused as cheaply as possible. */
export async function admitAddress(runtime: GatewayRuntime, clientIp: string): Promise<void> {
  refuseIfLimited(runtime, "ip", await runtime.limits.address(clientIp), "Too many requests from this address");
}

/** Per authenticated user, whatever address the calls come from. */
export async function admitUser(runtime: GatewayRuntime, userId: string): Promise<void> {
  refuseIfLimited(runtime, "user", await runtime.limits.user(userId), "Too many requests for this user");
}

function refuseIfLimited(runtime: GatewayRuntime, scope: "ip" | "user", waitSeconds: number, what: string): void {
  if (waitSeconds === 0) return;
  runtime.metrics.rateLimited.inc({ scope });
  const message = `${what}; slow down`;
  throw new TRPCError({ code: "TOO_MANY_REQUESTS", message, cause: new RetryAfter(message, waitSeconds) });
}

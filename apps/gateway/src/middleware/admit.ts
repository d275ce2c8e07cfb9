import type { Permission } from "@desk/contracts";
import type { AuthUser } from "../authorization.js";
import type { AuditTrail } from "./backend.js";
import type { GatewayRuntime } from "../runtime.js";
import { authenticate, requireDeclaredPermission } from "./authenticate.js";
import { admitAddress } from "./limits.js";

/** Who is calling, as every transport knows it: the address and the token presented. */
export interface CallerIdentity {
  clientIp: string;
  token: string | null;
}

/**
 * The checks an authenticated call passes before its work, on every transport
 * (tRPC's guard, each socket.io event): the per-address limit, the token (and with
 * it the per-user limit and the user's permissions), then the declared permission.
 * The audit trail learns who the caller is as soon as the token says, so a write
 * refused for a missing permission is written with its user.
 */
export async function admitCaller(
  runtime: GatewayRuntime,
  caller: CallerIdentity,
  permission?: Permission,
  audit?: Pick<AuditTrail, "identify">,
): Promise<AuthUser> {
  await admitAddress(runtime, caller.clientIp);
  const user = await authenticate(runtime, caller.token);
  audit?.identify(user);
  if (permission !== undefined) requireDeclaredPermission(runtime, user, permission);
  return user;
}

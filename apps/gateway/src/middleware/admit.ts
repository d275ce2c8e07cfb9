import type { Permission } from "@desk/contracts";
import type { AuthUser } from "../authorization.js";
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
 */
export async function admitCaller(
  runtime: GatewayRuntime,
  caller: CallerIdentity,
  permission?: Permission,
): Promise<AuthUser> {
  await admitAddress(runtime, caller.clientIp);
  const user = await authenticate(runtime, caller.token);
  if (permission !== undefined) requireDeclaredPermission(runtime, user, permission);
  return user;
}

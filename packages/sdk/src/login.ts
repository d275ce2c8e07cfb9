import { createTRPCUntypedClient, httpLink } from "@trpc/client";
import type { inferRouterOutputs } from "@trpc/server";
import superjson from "superjson";
import { toGatewayError } from "./errors.js";
import type { AppRouter } from "./router.js";
import { httpEndpoint } from "./urls.js";

export type LoginResult = inferRouterOutputs<AppRouter>["auth"]["login"];

/**
 * Calls the gateway's `auth.login` over plain HTTP (no WebSocket is opened, nothing to
 * close) and returns what it returns: the token and the user. Failures are GatewayErrors
 * (wrong password -> kind "unauthorized").
 */
export async function login(
  url: string,
  username: string,
  password: string,
  o: { fetch?: typeof globalThis.fetch } = {},
): Promise<LoginResult> {
  const client = createTRPCUntypedClient<AppRouter>({
    links: [httpLink({ url: httpEndpoint(url), transformer: superjson, ...(o.fetch ? { fetch: o.fetch } : {}) })],
  });
  try {
    return (await client.mutation("auth.login", { username, password })) as LoginResult;
  } catch (err) {
    throw toGatewayError(err);
  }
}

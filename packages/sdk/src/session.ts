import { createTRPCUntypedClient, httpLink } from "@trpc/client";
import type { inferRouterOutputs } from "@trpc/server";
import superjson from "superjson";
import { type GatewayError, toGatewayError } from "./errors.js";
import type { AppRouter } from "./router.js";
import { httpEndpoint } from "./urls.js";

type Outputs = inferRouterOutputs<AppRouter>;

/** A token pair as auth.login and auth.refresh hand it out, and when this client received it. */
export type SessionTokens = Outputs["auth"]["refresh"] & {
  /**
   * When the pair arrived, ms on this machine's clock: the access token's end is
   * taken as receivedAt + expiresIn, so a client whose clock differs from the
   * gateway's still refreshes in time. Set by the SDK; keep it when you store the pair.
   */
  receivedAt?: number;
};

export interface SessionOptions {
  fetch?: typeof globalThis.fetch;
  /** Called with every new pair (store it, e.g. in sessionStorage, to survive a reload). */
  onRefresh?: (tokens: SessionTokens & { receivedAt: number }) => void;
  /**
   * Called once when the session can no longer be renewed: logged out elsewhere, revoked
   * (a password change, a reused refresh token), or past its end. Log in again then.
   */
  onEnd?: (error: GatewayError) => void;
  /** The clock, ms (tests move it). */
  now?: () => number;
}

/**
 * One login, kept alive: hands out an access token that is refreshed (rotated with
 * its refresh token) before it expires, for every HTTP call and every WebSocket
 * (re)connect of a client built with `createGatewayClient({ url, session })`. The
 * gateway asks a WebSocket to reconnect shortly before its token expires, so
 * subscriptions carry on under the new token without missing an event.
 */
export interface GatewaySession {
  /** The access token to send now, refreshed first when less than min(2 min, half its life) is left. */
  getToken(): Promise<string | undefined>;
  /** Exchanges the refresh token now (single-flight: concurrent callers share one exchange). */
  refresh(): Promise<SessionTokens>;
  /** Ends the session at the gateway (auth.logout): its tokens stop working, its subscriptions end. */
  logout(): Promise<void>;
  /** The current pair. */
  readonly tokens: SessionTokens & { receivedAt: number };
  /** Why the session ended, once it has (null while it can be renewed). */
  readonly ended: GatewayError | null;
}

/** Refresh ahead: at most two minutes, at least half the token's life, before its end. */
const AHEAD_MS = 120_000;
/** After a failed exchange that may succeed later (gateway unreachable), wait this long before the next. */
const RETRY_MS = 1_000;

export function createSession(url: string, initial: SessionTokens, o: SessionOptions = {}): GatewaySession {
  const now = o.now ?? Date.now;
  let tokens = { ...initial, receivedAt: initial.receivedAt ?? now() };
  let ended: GatewayError | null = null;
  let exchanging: Promise<SessionTokens> | null = null;
  let lastFailure = Number.NEGATIVE_INFINITY;
  const client = createTRPCUntypedClient<AppRouter>({
    links: [
      httpLink({
        url: httpEndpoint(url),
        transformer: superjson,
        ...(o.fetch ? { fetch: o.fetch } : {}),
        headers: () => ({ authorization: `Bearer ${tokens.token}` }),
      }),
    ],
  });

  const expiresAt = () => tokens.receivedAt + tokens.expiresIn * 1000;
  const dueForRefresh = () => expiresAt() - now() < Math.min(AHEAD_MS, (tokens.expiresIn * 1000) / 2);

  function end(error: GatewayError): void {
    if (ended) return;
    ended = error;
    o.onEnd?.(error);
  }

  function refresh(): Promise<SessionTokens> {
    if (ended) return Promise.reject(ended);
    exchanging ??= (async () => {
      try {
        const next = (await client.mutation("auth.refresh", { refreshToken: tokens.refreshToken })) as SessionTokens;
        tokens = { ...next, receivedAt: now() };
        o.onRefresh?.(tokens);
        return tokens;
      } catch (err) {
        const error = toGatewayError(err);
        // Refused: this refresh token will never work again. Anything else may pass later.
        if (error.kind === "unauthorized") end(error);
        else lastFailure = now();
        throw error;
      } finally {
        exchanging = null;
      }
    })();
    return exchanging;
  }

  async function getToken(): Promise<string | undefined> {
    if (!ended && dueForRefresh() && (exchanging || now() - lastFailure >= RETRY_MS)) {
      // A failed refresh still answers with the current token: the call then gets the
      // gateway's own verdict (and a retry of the exchange comes with the next call).
      await refresh().catch(() => undefined);
    }
    return tokens.token;
  }

  async function logout(): Promise<void> {
    if (ended) return;
    await getToken();
    try {
      await client.mutation("auth.logout", undefined);
    } catch (err) {
      const error = toGatewayError(err);
      // Already over at the gateway: logged out all the same.
      if (error.kind !== "unauthorized") throw error;
    }
    ended = toGatewayError({ name: "LoggedOut", message: "Logged out", data: { code: "UNAUTHORIZED" } });
  }

  return {
    getToken,
    refresh,
    logout,
    get tokens() {
      return tokens;
    },
    get ended() {
      return ended;
    },
  };
}

import type { GatewaySession } from "./session.js";

export type TokenSource =
  | { token: string; getToken?: never; session?: never }
  | {
      getToken: () => string | null | undefined | Promise<string | null | undefined>;
      token?: never;
      session?: never;
    }
  /** A session (createSession): its access token, refreshed before it expires. */
  | { session: GatewaySession; token?: never; getToken?: never }
  | { token?: undefined; getToken?: undefined; session?: undefined };

/** Normalises `token | getToken | session` into one async getter, called per HTTP request and per WebSocket (re)connect. */
export function tokenGetter(source: TokenSource): () => Promise<string | undefined> {
  if (source.session) {
    const session = source.session;
    return () => session.getToken();
  }
  if (source.getToken) {
    const get = source.getToken;
    return async () => (await get()) ?? undefined;
  }
  const fixed = source.token;
  return async () => fixed;
}

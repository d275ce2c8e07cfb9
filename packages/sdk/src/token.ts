export type TokenSource =
  | { token: string; getToken?: never }
  | { getToken: () => string | null | undefined | Promise<string | null | undefined>; token?: never }
  | { token?: undefined; getToken?: undefined };

/** Normalises `token | getToken` into one async getter, called per HTTP request and per WebSocket (re)connect. */
export function tokenGetter(source: TokenSource): () => Promise<string | undefined> {
  if (source.getToken) {
    const get = source.getToken;
    return async () => (await get()) ?? undefined;
  }
  const fixed = source.token;
  return async () => fixed;
}

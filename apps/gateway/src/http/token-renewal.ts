import { decodeJwt } from "jose";

/** What the renewal needs of a server-side WebSocket (the `ws` package's). */
export interface RenewableSocket {
  readonly readyState: number;
  readonly OPEN: number;
  send(data: string): void;
  once(event: "close", listener: () => void): unknown;
}

/** tRPC's own "reconnect" notification (what broadcastReconnectNotification sends to everyone). */
const RECONNECT = JSON.stringify({ id: null, method: "reconnect" });

/**
 * A WebSocket is authenticated once, by the token its connectionParams carried when
 * it opened, and its subscriptions end when that token expires. Access tokens live
 * minutes, so shortly before this one expires the gateway tells the client to
 * reconnect: tRPC's client opens a new socket (asking its getToken again, which
 * refreshes), moves each subscription over with its last event id and only then
 * closes the old one, so nothing is missed. Lead: a quarter of the token's life,
 * at most a minute. A client with a fixed token reconnects with the same one and is
 * not told again (its subscriptions end at expiry, as before).
 *
 * The token is only decoded here, not verified: it schedules a notice on the
 * client's own socket, nothing more (every operation still verifies it).
 */
export function renewBeforeExpiry(socket: RenewableSocket, token: string | null, now: number = Date.now()): void {
  const delay = renewalDelayMs(token, now);
  if (delay === undefined) return;
  const timer = setTimeout(() => {
    if (socket.readyState === socket.OPEN) socket.send(RECONNECT);
  }, delay);
  timer.unref();
  socket.once("close", () => clearTimeout(timer));
}

/**
 * When to ask a socket opened with `token` to reconnect: a quarter of the token's
 * life (at most a minute) before it expires; undefined when that moment has passed
 * (the socket opened with a token already that old: not told again) or the token
 * has no readable lifetime. Both transports' renewals use it.
 */
export function renewalDelayMs(token: string | null, now: number = Date.now()): number | undefined {
  if (!token) return undefined;
  let exp: number | undefined;
  let iat: number | undefined;
  try {
    ({ exp, iat } = decodeJwt(token));
  } catch {
    return undefined;
  }
  if (typeof exp !== "number" || typeof iat !== "number" || exp <= iat) return undefined;
  const leadMs = Math.min(60_000, ((exp - iat) * 1000) / 4);
  const delay = exp * 1000 - leadMs - now;
  return delay <= 0 ? undefined : Math.min(delay, 2 ** 31 - 1);
}

/**
 * The source document's WebSocket events, typed, for frontends written in its style
 * (`socket.emit('account:subscribe', ...)`, `socket.on('account:update', ...)`). A
 * separate entry point (`@desk/sdk/events`) with socket.io-client as an optional peer:
 * an app that does not import it neither installs nor bundles socket.io-client.
 */
import type { ClientToServerEvents, RealtimeSession, ServerToClientEvents } from "@desk/contracts";
import { type ManagerOptions, type Socket, type SocketOptions, io } from "socket.io-client";

export type * from "./event-types.js";

/** The gateway's socket.io connection: every event name, payload and ack typed. */
export type GatewayEvents = Socket<ServerToClientEvents, ClientToServerEvents>;

export type ConnectEventsOptions = Partial<ManagerOptions & SocketOptions>;

/** A token, or a function asked for the current one on every (re)connect. */
export type EventsToken = string | (() => string | null | undefined | Promise<string | null | undefined>);

type SubscribeEvent = "account:subscribe" | "algorithm:subscribe" | "market:subscribe";
const unsubscribeOf = {
  "account:unsubscribe": "account:subscribe",
  "algorithm:unsubscribe": "algorithm:subscribe",
  "market:unsubscribe": "market:subscribe",
} as const;
const fieldOf = {
  "account:subscribe": "accountIds",
  "algorithm:subscribe": "algorithmIds",
  "market:subscribe": "symbols",
};

/**
 * Connects to the gateway's socket.io endpoint (`<url>/socket.io/`), the token in the
 * handshake (`auth: { token }`; a function is asked again on every reconnect).
 *
 * The gateway itself resumes a connection's subscriptions after a dropped
 * connection (socket.io's connection state recovery, missed events replayed) and
 * after a restart it announced. For the one case it cannot see, a gateway that
 * crashed, this helper re-sends the subscriptions it has seen emitted when a
 * reconnection comes back without them.
 */
export function connectEvents(url: string, token: EventsToken, options: ConnectEventsOptions = {}): GatewayEvents {
  const auth =
    typeof token === "function"
      ? (callback: (data: object) => void) => {
          Promise.resolve(token()).then(
            (value) => callback({ token: value ?? "" }),
            () => callback({ token: "" }),
          );
        }
      : { token };
  const socket: GatewayEvents = io(url, { ...options, auth });
  const followed: Record<SubscribeEvent, Set<string>> = {
    "account:subscribe": new Set(),
    "algorithm:subscribe": new Set(),
    "market:subscribe": new Set(),
  };
  socket.onAnyOutgoing((event: string, payload: unknown) => {
    const subscribe = (event in fieldOf ? event : unsubscribeOf[event as keyof typeof unsubscribeOf]) as
      | SubscribeEvent
      | undefined;
    if (!subscribe || typeof payload !== "object" || payload === null) return;
    const ids = (payload as Record<string, unknown>)[fieldOf[subscribe]];
    if (!Array.isArray(ids)) return;
    for (const id of ids) {
      if (typeof id !== "string") continue;
      if (event === subscribe) followed[subscribe].add(id);
      else followed[subscribe].delete(id);
    }
  });
  let sessions = 0;
  socket.on("session", (session: RealtimeSession) => {
    sessions++;
    if (sessions === 1 || session.resumed || session.closing) return;
    for (const [event, ids] of Object.entries(followed) as Array<[SubscribeEvent, Set<string>]>) {
      if (ids.size > 0) socket.emit(event, { [fieldOf[event]]: [...ids] } as never);
    }
  });
  return socket;
}

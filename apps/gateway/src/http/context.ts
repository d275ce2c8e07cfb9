import type { IncomingMessage } from "node:http";
import { bearerToken } from "../auth/jwt.js";
import type { CallClock, GatewayContext, RuntimeHandle } from "../context.js";
import { type RenewableSocket, renewBeforeExpiry } from "./token-renewal.js";

/** The client address of a request, remembered by the HTTP server before tRPC adapters wrap the request. */
const clientIps = new WeakMap<object, string>();

export function rememberClientIp(key: object, ip: string): void {
  clientIps.set(key, ip);
}

/** The call clock of a request (keyed by its response) or a WebSocket, made by the HTTP server on arrival. */
const clocks = new WeakMap<object, CallClock>();

export function rememberCallClock(key: object, clock: CallClock): void {
  clocks.set(key, clock);
}

const clockOf = (key: unknown): CallClock | null =>
  (key && typeof key === "object" ? clocks.get(key) : undefined) ?? null;

type HeaderBag = Headers | IncomingMessage["headers"];

/** Reads a header from a Node IncomingMessage or a Fetch Request (tRPC's adapters hand over either). */
export function readHeader(req: { headers: HeaderBag } | undefined, name: string): string | null {
  if (!req) return null;
  const headers = req.headers;
  if (typeof (headers as Headers).get === "function") return (headers as Headers).get(name);
  const value = (headers as IncomingMessage["headers"])[name.toLowerCase()];
  if (Array.isArray(value)) return value[0] ?? null;
  return value ?? null;
}

function ipOf(req: unknown, res: unknown): string {
  for (const key of [res, req]) {
    if (key && typeof key === "object") {
      const ip = clientIps.get(key);
      if (ip) return ip;
    }
  }
  const socket = (req as { socket?: { remoteAddress?: string } } | undefined)?.socket;
  return socket?.remoteAddress ?? "unknown";
}

/** createContext for /trpc over HTTP and for /api/v1 (trpc-to-openapi), for one gateway. */
export function httpContextFactory(runtime: RuntimeHandle) {
  return (opts: { req: unknown; res: unknown; info?: { signal?: AbortSignal } }): GatewayContext => ({
    token: bearerToken(readHeader(opts.req as { headers: HeaderBag }, "authorization")),
    clientIp: ipOf(opts.req, opts.res),
    transport: "http",
    connection: null,
    requestSignal: opts.info?.signal ?? null,
    clock: clockOf(opts.res),
    runtime,
  });
}

/**
 * createContext for the WebSocket: once per connection, so the token is re-checked on
 * every operation, and the client is asked to reconnect (with a fresh token) shortly
 * before this one expires (token-renewal.ts).
 */
export function wsContextFactory(runtime: RuntimeHandle) {
  return (opts: {
    req: IncomingMessage;
    res: { bufferedAmount: number } & RenewableSocket;
    info: { connectionParams: Record<string, string | undefined> | null };
  }): GatewayContext => {
    const fromParams = opts.info.connectionParams?.token;
    const socket = opts.res;
    const token =
      typeof fromParams === "string" && fromParams.length > 0
        ? fromParams
        : bearerToken(readHeader(opts.req, "authorization"));
    renewBeforeExpiry(socket, token);
    return {
      token,
      clientIp: ipOf(opts.req, undefined),
      transport: "ws",
      connection: {
        bufferedAmount: () => socket.bufferedAmount,
        // As tRPC's own replies: nothing is written once the socket is closing.
        sendFrame: (frame) => {
          if (socket.readyState === socket.OPEN) socket.send(frame);
        },
      },
      requestSignal: null,
      clock: clockOf(socket),
      runtime,
    };
  };
}

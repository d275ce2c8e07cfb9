/** How a subscription sees its WebSocket: enough to hold back while the client is slow. */
export interface ConnectionHandle {
  /** Bytes queued on the socket and not yet sent. */
  bufferedAmount(): number;
}

declare const runtimeBrand: unique symbol;

/**
 * This gateway's services (backend client, SUB socket, caches, limits, metrics),
 * as the root context carries them: opaque, so the router's type, which the SDK
 * bundles for browsers, names no server module. The guard middleware opens it
 * (runtimeOf in runtime.ts) and hands procedures what they need as ctx.backend,
 * ctx.user and ctx.gateway, which tRPC's procedure types do not carry.
 */
export interface RuntimeHandle {
  readonly [runtimeBrand]: "GatewayRuntime";
}

/**
 * The tRPC root context: what every procedure knows about its caller before any
 * middleware ran. Plain data only, and this module imports nothing, since the SDK
 * bundles this type (see RuntimeHandle); the HTTP server builds it (http/context.ts).
 */
export interface GatewayContext {
  /** Bearer token as presented (HTTP Authorization header or WebSocket connectionParams.token). */
  token: string | null;
  /** Client address, for per-address rate limiting. */
  clientIp: string;
  transport: "http" | "ws";
  /** The WebSocket, for subscriptions that must respect a slow client; null over HTTP. */
  connection: ConnectionHandle | null;
  /**
   * Aborts when the HTTP client goes away. REST calls (trpc-to-openapi calls
   * procedures without a signal) get their abort from here; over tRPC the
   * middleware's own signal is used. Null on a WebSocket (per-operation signals).
   */
  requestSignal: AbortSignal | null;
  runtime: RuntimeHandle;
}

/** How a subscription sees its WebSocket: enough to hold back while the client is slow. */
export interface ConnectionHandle {
  /** Bytes queued on the socket and not yet sent. */
  bufferedAmount(): number;
  /**
   * Writes one text frame on a tRPC WebSocket, nothing once it is closing (a
   * feed's stream writes its own frames: http/direct-subscriptions.ts). Absent on
   * other transports.
   */
  sendFrame?: (frame: string) => void;
}

/** One call's figures for gateway_call_overhead_seconds (http/call-clock.ts). */
export interface CallTiming {
  /** performance.now() when the request or message carrying the call arrived. */
  readonly arrivedAt: number;
  /** Milliseconds spent in backend calls (MDP round trips, retries included). */
  backendMs: number;
}

/** When a call arrived, and how its end (the reply's write) is recorded. */
export interface CallClock {
  arrivedAt(): number;
  /** The procedure returned `data` (undefined when it failed): record the call once its reply is written. */
  settle(timing: CallTiming, data: unknown, record: (transport: "http" | "ws", seconds: number) => void): void;
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
  /** The arrival and reply write of this request's calls (null: not measured, e.g. REST via trpc-to-openapi). */
  clock: CallClock | null;
  runtime: RuntimeHandle;
}

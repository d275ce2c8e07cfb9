/** What the SDK needs from a WebSocket class: the browser's, undici's or the `ws` package's. */
export type WebSocketConstructor = new (url: string) => object;

type TrpcWebSocket = typeof globalThis.WebSocket;

let loadedWs: Promise<WebSocketConstructor> | undefined;

/** This runtime has no WebSocket and the optional `ws` package is not installed (Node 20). */
export class WebSocketUnavailableError extends Error {
  override readonly name = "WebSocketUnavailableError";
}

/**
 * tRPC reports a failed connection as "Initialization error" with the reason a cause or
 * two below; a missing `ws` is a setup mistake, not a network failure, so it is worth
 * surfacing as itself.
 */
export function webSocketUnavailable(err: unknown): WebSocketUnavailableError | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (current instanceof WebSocketUnavailableError) return current;
    current = current.cause;
  }
  return undefined;
}

/**
 * Loads `ws` only when the runtime has no WebSocket of its own (Node 20). Bundlers for
 * the browser map "ws" to nothing (package.json "browser" field), and there this branch
 * never runs because globalThis.WebSocket exists.
 */
function loadWs(): Promise<WebSocketConstructor> {
  loadedWs ??= import("ws").then(
    (mod: Record<string, unknown>) => {
      const ctor = mod.WebSocket ?? mod.default;
      if (typeof ctor !== "function") throw new Error('@desk/sdk: the "ws" package did not export a WebSocket class');
      return ctor as WebSocketConstructor;
    },
    (err: unknown) => {
      // `ws` is an optional peer: browsers and Node 22+ never get here.
      loadedWs = undefined;
      throw new WebSocketUnavailableError(
        '@desk/sdk: this runtime has no WebSocket (Node 20): install the "ws" package, or pass `WebSocket` to createGatewayClient',
        { cause: err },
      );
    },
  );
  return loadedWs;
}

export interface WebSocketSource {
  /** The class handed to tRPC's createWSClient. */
  readonly ctor: TrpcWebSocket;
  /** Resolves once the real class is known; awaited before each connection opens. */
  ready(): Promise<void>;
}

/**
 * tRPC needs a WebSocket class synchronously (it reads the static OPEN/CLOSED and throws
 * if there is none), but `ws` can only be imported asynchronously from an ESM/CJS-neutral
 * bundle. So when neither an explicit class nor a global one exists, hand tRPC a stand-in
 * whose constructor returns an instance of the real class, loaded by `ready()` which the
 * client awaits inside its async URL callback, i.e. just before tRPC constructs a socket.
 */
export function resolveWebSocket(explicit?: WebSocketConstructor): WebSocketSource {
  const given = explicit ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (given) return { ctor: given as unknown as TrpcWebSocket, ready: () => Promise.resolve() };

  let real: WebSocketConstructor | undefined;
  class DeferredWebSocket {
    static readonly CONNECTING = 0;
    static readonly OPEN = 1;
    static readonly CLOSING = 2;
    static readonly CLOSED = 3;
    constructor(url: string) {
      if (!real) throw new Error("@desk/sdk: WebSocket implementation not loaded yet");
      // biome-ignore lint/correctness/noConstructorReturn: returning the real socket is the point of this stand-in
      return new real(url) as DeferredWebSocket;
    }
  }
  return {
    ctor: DeferredWebSocket as unknown as TrpcWebSocket,
    ready: async () => {
      real ??= await loadWs();
    },
  };
}

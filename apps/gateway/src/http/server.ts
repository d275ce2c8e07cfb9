import http from "node:http";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import { applyWSSHandler } from "@trpc/server/adapters/ws";
import { createOpenApiNodeHttpHandler, generateOpenApiDocument } from "trpc-to-openapi";
import { WebSocketServer } from "ws";
import { RetryAfter } from "../rate-limit.js";
import { appRouter } from "../root.js";
import { type GatewayRuntime, runtimeHandle } from "../runtime.js";
import { createSocketIoServer } from "../socket-io/server.js";
import { createConsoleFiles } from "./console-files.js";
import { batchWrites } from "./batched-writes.js";
import { httpCallClock, wsCallClock } from "./call-clock.js";
import { httpContextFactory, rememberCallClock, rememberClientIp, wsContextFactory } from "./context.js";
import { BodyError, readJsonBody } from "./json-body.js";
import { preventInputCoercion } from "./no-coercion.js";
import { settled } from "../settled.js";
import { createSlowClientWatchdog } from "./slow-clients.js";
import { wsEncoder } from "./ws-encoder.js";

export const REST_PREFIX = "/api/v1";
/** socket.io's default path, which socket.io-client uses unless told otherwise. */
export const SOCKET_IO_PATH = "/socket.io/";
const MAX_BODY_BYTES = 1024 * 1024;
/**
 * The procedures anyone may call without a token take tiny inputs (a username and a
 * password, a refresh token): their bodies are capped far lower, so an unauthenticated
 * flood costs the gateway kilobytes per request, not a megabyte.
 */
const MAX_PUBLIC_BODY_BYTES = 16 * 1024;
const PUBLIC_WRITES = new Set(["auth.login", "auth.refresh"]);
const PUBLIC_REST_PATHS = new Set([`/api/v1/auth/login`, `/api/v1/auth/refresh`]);

/** The body cap of a tRPC HTTP request: the lower one when any procedure of the (batched) path is public. */
function trpcBodyLimit(path: string): number {
  let names = path.slice("/trpc/".length);
  try {
    names = decodeURIComponent(names);
  } catch {
    // A malformed escape names no procedure; tRPC answers it.
  }
  const procedures = names.split(",");
  return procedures.some((p) => PUBLIC_WRITES.has(p)) ? MAX_PUBLIC_BODY_BYTES : MAX_BODY_BYTES;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
  res.end(JSON.stringify(body));
}

/** 429s carry Retry-After: the limiter's own figure when it gave one (RetryAfter cause), else 1 s. */
function retryAfterMeta({ errors }: { errors: ReadonlyArray<{ code: string; cause?: unknown }> }) {
  const limited = errors.find((e) => e.code === "TOO_MANY_REQUESTS");
  if (!limited) return {};
  const seconds = limited.cause instanceof RetryAfter ? limited.cause.seconds : 1;
  return { headers: { "retry-after": String(seconds) } };
}

function clientIpOf(req: http.IncomingMessage): string {
  // The gateway is expected to sit directly behind a trusted proxy or none; we do not
  // trust X-Forwarded-For by default, since any client can forge it to dodge rate limits.
  return req.socket.remoteAddress ?? "unknown";
}

/**
 * One node http server for everything: tRPC over HTTP at /trpc, REST at
 * /api/v1 (trpc-to-openapi), /api/v1/openapi.json, /health, /metrics,
 * tRPC over WebSocket on upgrade, and the source document's socket.io API at
 * /socket.io/ (polling requests and WebSocket upgrades), all on the same port.
 */
export function createGatewayServer(runtime: GatewayRuntime) {
  const { logger, metrics, config } = runtime;
  const router = appRouter;
  const createHttpContext = httpContextFactory(runtimeHandle(runtime));
  const onError = ({
    error,
    path,
  }: {
    error: { code: string; message: string; cause?: unknown };
    path?: string | undefined;
  }) => {
    if (error.code === "INTERNAL_SERVER_ERROR")
      logger.error({ path, err: error.cause ?? error.message }, "request failed");
  };
  const trpcHandler = createHTTPHandler({
    router,
    basePath: "/trpc/",
    createContext: createHttpContext,
    maxBodySize: MAX_BODY_BYTES,
    onError,
    responseMeta: retryAfterMeta,
  });
  preventInputCoercion(router);
  // The node handler (not the standalone one, which rewraps the request as a Fetch
  // Request and parses its body itself): it takes the body we parsed in req.body.
  const restHandler = createOpenApiNodeHttpHandler({
    router,
    createContext: createHttpContext,
    maxBodySize: MAX_BODY_BYTES,
    onError,
    responseMeta: retryAfterMeta,
  });
  // One watchdog for tRPC's WebSockets and socket.io's connections (slow-clients.ts).
  const watchdog = createSlowClientWatchdog({
    maxBufferedBytes: config.wsMaxBufferedBytes,
    graceMs: config.wsSlowClientGraceMs,
    logger,
    metrics,
  });
  const socketIo = createSocketIoServer(runtime, watchdog, MAX_BODY_BYTES);
  const consoleFiles = config.consoleDir ? createConsoleFiles(config.consoleDir) : null;
  let openApiDocument: unknown;
  const openApi = () => {
    openApiDocument ??= generateOpenApiDocument(router, {
      title: "Trading gateway REST API",
      description: "Every query and mutation of the tRPC API, as plain JSON. Subscriptions are WebSocket (tRPC) only.",
      version: "1.0.0",
      baseUrl: REST_PREFIX,
    });
    return openApiDocument;
  };

  // Nagle off (Node's default since 18, stated so a refactor cannot lose it): a reply is
  // one small write, and waiting for the client's delayed ACK would add up to 40 ms.
  // ws sets it on upgraded sockets itself.
  // Responses not yet written out: shutdown waits for them before closing connections.
  let openResponses = 0;
  const server = http.createServer({ noDelay: true }, (req, res) => {
    rememberCallClock(res, httpCallClock(res));
    openResponses++;
    res.once("close", () => {
      openResponses--;
    });
    void route(req, res).catch((err: unknown) => {
      logger.error({ err }, "unhandled error in HTTP routing");
      if (!res.headersSent) sendJson(res, 500, { message: "Internal server error", code: "INTERNAL_SERVER_ERROR" });
      else res.end();
    });
  });

  /** Adds CORS headers for an allowed Origin; true when the request was a preflight and is answered. */
  function cors(req: http.IncomingMessage, res: http.ServerResponse): boolean {
    const origin = req.headers.origin;
    if (!origin || config.corsOrigins.length === 0) return false;
    const allowed = config.corsOrigins.includes("*") || config.corsOrigins.includes(origin);
    if (!allowed) return false;
    res.setHeader("access-control-allow-origin", config.corsOrigins.includes("*") ? "*" : origin);
    res.setHeader("vary", "Origin");
    if (req.method !== "OPTIONS") return false;
    res.writeHead(204, {
      "access-control-allow-methods": "GET, POST, OPTIONS",
      "access-control-allow-headers": "authorization, content-type, trpc-accept, x-trpc-source",
      "access-control-max-age": "600",
    });
    res.end();
    return true;
  }

  async function route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (cors(req, res)) return;
    const ip = clientIpOf(req);
    rememberClientIp(req, ip);
    rememberClientIp(res, ip);
    const url = req.url ?? "/";
    const path = url.split("?", 1)[0]!;
    if (path === "/health" || path === "/healthz") {
      if (runtime.lifecycle.draining) return sendJson(res, 503, { status: "draining" });
      const report = await runtime.health();
      return sendJson(res, report.status === "down" ? 503 : 200, report);
    }
    if (path === "/metrics") {
      res.writeHead(200, { "content-type": metrics.registry.contentType });
      res.end(await metrics.registry.metrics());
      return;
    }
    if (path === `${REST_PREFIX}/openapi.json`) return sendJson(res, 200, openApi());
    if (path === REST_PREFIX || path.startsWith(`${REST_PREFIX}/`)) {
      // trpc-to-openapi matches the whole path, so hand it the part after the prefix.
      req.url = url.slice(REST_PREFIX.length) || "/";
      if (req.method !== "GET" && req.method !== "HEAD" && req.method !== "DELETE") {
        try {
          const limit = PUBLIC_REST_PATHS.has(path) ? MAX_PUBLIC_BODY_BYTES : MAX_BODY_BYTES;
          (req as http.IncomingMessage & { body?: unknown }).body = await readJsonBody(req, limit);
        } catch (err) {
          if (!(err instanceof BodyError)) throw err;
          logger.debug({ path, status: err.status, why: err.message }, "refused a REST body");
          return sendJson(res, err.status, { message: err.message, code: err.code });
        }
        // Checked and parsed above (an empty body is {}), whatever the client declared.
        req.headers["content-type"] = "application/json";
      }
      return restHandler(req, res);
    }
    if (path === "/trpc" || path.startsWith("/trpc/")) {
      // tRPC reads the body itself (up to 1 MB); a declared length over a public procedure's cap is refused first.
      const limit = trpcBodyLimit(path);
      if (limit < MAX_BODY_BYTES && Number(req.headers["content-length"]) > limit) {
        req.resume();
        return sendJson(res, 413, {
          message: `Request body too large (limit ${limit} bytes)`,
          code: "PAYLOAD_TOO_LARGE",
        });
      }
      trpcHandler(req, res);
      return;
    }
    if (path.startsWith(SOCKET_IO_PATH)) {
      socketIo.handleRequest(req, res);
      return;
    }
    const notFound = () => sendJson(res, 404, { message: `No route for ${req.method} ${path}`, code: "NOT_FOUND" });
    if (consoleFiles && (req.method === "GET" || req.method === "HEAD")) return consoleFiles(req, res, notFound);
    notFound();
  }

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_BODY_BYTES });
  const wsHandler = applyWSSHandler({
    wss,
    router,
    createContext: wsContextFactory(runtimeHandle(runtime)),
    // Notes each subscription's JSON-RPC id, so a feed's stream can write its own frames (ws-encoder.ts).
    experimental_encoder: wsEncoder,
    keepAlive:
      config.wsKeepAliveMs > 0
        ? { enabled: true, pingMs: config.wsKeepAliveMs, pongWaitMs: 5_000 }
        : { enabled: false },
    onError: ({ error, path }) => onError({ error, path }),
  });
  server.on("upgrade", (req, socket, head) => {
    const path = (req.url ?? "/").split("?", 1)[0] ?? "/";
    if (path.startsWith(SOCKET_IO_PATH)) {
      socketIo.handleUpgrade(req, socket, head);
      return;
    }
    if (path !== "/trpc" && path !== "/" && path !== "/trpc/") {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req));
  });
  wss.on("connection", (ws) => {
    batchWrites(ws, { warn: (msg) => logger.warn(msg) });
    rememberCallClock(ws, wsCallClock(ws));
    metrics.wsClients.inc();
    const unwatch = watchdog.watch(
      { bufferedAmount: () => ws.bufferedAmount, terminate: () => ws.terminate() },
      "trpc",
    );
    ws.once("close", () => {
      metrics.wsClients.dec();
      unwatch();
    });
  });

  async function listen(port: number, host: string): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("server has no TCP address");
    return address.port;
  }

  /** Stops accepting connections and tells WebSocket clients to reconnect (elsewhere or later). */
  function stopAccepting(): void {
    wsHandler.broadcastReconnectNotification();
    server.close();
  }

  let closed: Promise<void> | undefined;
  /**
   * Closes every connection, after giving them up to `withinMs` to finish: responses being
   * written go out, and each WebSocket gets a close frame queued behind what it was sent
   * (an answer already handed to ws is delivered), then whatever is left is cut.
   */
  function closeAll(withinMs: number): Promise<void> {
    closed ??= (async () => {
      watchdog.stop();
      // socket.io first: its long-polling requests stay open responses until their sessions close.
      await socketIo.close(withinMs);
      await settled(() => openResponses === 0, withinMs);
      for (const ws of wss.clients) ws.close(1001, "gateway shutting down");
      await settled(() => wss.clients.size === 0, withinMs);
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
      });
    })();
    return closed;
  }

  return {
    server,
    wss,
    listen,
    stopAccepting,
    closeAll,
    wsClientCount: () => wss.clients.size,
    socketIoClientCount: socketIo.clientCount,
  };
}

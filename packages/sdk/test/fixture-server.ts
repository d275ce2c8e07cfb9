// A tiny tRPC server shaped like the gateway's transport (HTTP at /trpc, ws on the same
// port, superjson, token from the Authorization header or connectionParams) so the SDK's
// links can be tested over real sockets without the whole gateway.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { initTRPC, TRPCError, tracked } from "@trpc/server";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import { applyWSSHandler } from "@trpc/server/adapters/ws";
import superjson from "superjson";
import { WebSocketServer } from "ws";

interface Ctx {
  token: string | undefined;
}

const t = initTRPC.context<Ctx>().create({ transformer: superjson });

export const fixtureRouter = t.router({
  whoami: t.procedure.query(({ ctx }) => {
    if (!ctx.token) throw new TRPCError({ code: "UNAUTHORIZED", message: "no token" });
    return { token: ctx.token, at: new Date(0) };
  }),
  fail: t.procedure
    .input((v) => v as { code: "FORBIDDEN" | "NOT_FOUND" | "TOO_MANY_REQUESTS" | "SERVICE_UNAVAILABLE" })
    .query(({ input }) => {
      throw new TRPCError({ code: input.code, message: `failing with ${input.code}` });
    }),
  ticks: t.procedure
    .input((v) => v as { lastEventId?: string | null } | undefined)
    .subscription(async function* ({ ctx, input, signal }) {
      let n = input?.lastEventId ? Number(input.lastEventId) + 1 : 0;
      while (!signal?.aborted) {
        yield tracked(String(n), { n, token: ctx.token ?? null });
        n += 1;
        await new Promise((r) => setTimeout(r, 20));
      }
    }),
});
export type FixtureRouter = typeof fixtureRouter;

export interface FixtureServer {
  url: string;
  port: number;
  /** tokens seen by each WebSocket connection's createContext, in order */
  wsTokens: (string | undefined)[];
  /** every text message the server received over WebSocket, in order */
  wsMessages: string[];
  close(): Promise<void>;
}

export async function startFixtureServer(port = 0, wsTokens: (string | undefined)[] = []): Promise<FixtureServer> {
  const handler = createHTTPHandler({
    router: fixtureRouter,
    basePath: "/trpc/",
    createContext: ({ req }) => ({ token: req.headers.authorization?.replace(/^Bearer /, "") }),
  });
  const server = http.createServer((req, res) => handler(req, res));
  const wss = new WebSocketServer({ server });
  const wssHandler = applyWSSHandler({
    wss,
    router: fixtureRouter,
    createContext: ({ info }) => {
      const token = info.connectionParams?.token;
      wsTokens.push(token);
      return { token };
    },
  });
  const wsMessages: string[] = [];
  wss.on("connection", (ws) => ws.on("message", (data) => wsMessages.push(String(data))));
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    wsTokens,
    wsMessages,
    close: async () => {
      wssHandler.broadcastReconnectNotification();
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

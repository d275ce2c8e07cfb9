import { type TRPCClient, createTRPCClient, createWSClient, wsLink } from "@trpc/client";
import superjson from "superjson";
import WebSocket from "ws";
import type { AppRouter } from "../../src/index.js";
import { straddle } from "./fake-backend.js";
import { type RestReply, rest } from "./stack.js";

/** A parsed straddle for account1, valid against the contracts (what instruction.parse returns). */
const order = straddle();

/** instruction.execute over REST: one straddle in account1, with `clientOrderId` when given. */
export function executeRest(url: string, token: string, clientOrderId?: string): Promise<RestReply> {
  return rest(url, "POST", "/api/v1/instructions/execute", {
    token,
    body: { instructions: [order], accounts: ["account1"], ...(clientOrderId ? { clientOrderId } : {}) },
  });
}

/** What a caller got: "<http status> <code>" over REST, "<code>" over tRPC, "NO ANSWER" when the connection closed without one. */
export function answerOfRest(r: RestReply): string {
  return `${r.status} ${r.status === 200 ? "OK" : String(r.body?.code)}`;
}

export function answerOfTrpc(err: unknown): string {
  const data = (err as { data?: { code?: unknown; httpStatus?: unknown } }).data;
  if (!data || typeof data.code !== "string") return `NO ANSWER (${err instanceof Error ? err.message : String(err)})`;
  return `${String(data.httpStatus)} ${data.code}`;
}

/** Tally of answers: "<kind> <answer>" -> count. */
export function tally(answers: ReadonlyArray<{ kind: string; answer: string }>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const a of answers) counts[`${a.kind} ${a.answer}`] = (counts[`${a.kind} ${a.answer}`] ?? 0) + 1;
  return counts;
}

/** A tRPC client that sends everything over one WebSocket (the SDK's transport "ws"). */
export function wsOnlyClient(
  wsUrl: string,
  token: string,
): { client: TRPCClient<AppRouter>; close: () => Promise<void> } {
  const wsClient = createWSClient({
    url: wsUrl,
    WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
    connectionParams: () => ({ token }),
    retryDelayMs: () => 200,
  });
  const client = createTRPCClient<AppRouter>({ links: [wsLink({ client: wsClient, transformer: superjson })] });
  return { client, close: () => wsClient.close() };
}

/** One gauge or counter from /metrics text (the sum over its label sets when `labels` is not given). */
export function metric(text: string, name: string, labels?: string): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (labels === undefined ? !/^[ {]/.test(rest) : !rest.startsWith(`{${labels}}`)) continue;
    sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

/** What one caller of hundredCallers got. */
export interface CallerAnswer {
  kind: "read" | "write";
  via: "rest" | "ws";
  answer: string;
  body?: { message?: string; data?: unknown };
}

/**
 * 100 callers at once, 70 over REST and 30 over one WebSocket: 80 reads (account.get of
 * account1) and 20 executes, each with its own clientOrderId. Every promise resolves with
 * what its caller got, "NO ANSWER (...)" when the connection closed without one.
 */
export function hundredCallers(
  g: { url: string; token: string },
  ws: TRPCClient<AppRouter>,
): Array<Promise<CallerAnswer>> {
  const calls: Array<Promise<CallerAnswer>> = [];
  for (let i = 0; i < 100; i++) {
    const kind = i % 5 === 0 ? "write" : "read";
    if (i < 70) {
      const r =
        kind === "write"
          ? executeRest(g.url, g.token, `many-${i}`)
          : rest(g.url, "GET", "/api/v1/accounts/account1", { token: g.token });
      calls.push(
        r.then(
          (reply) => ({ kind, via: "rest", answer: answerOfRest(reply), body: reply.body }),
          (err: Error) => ({ kind, via: "rest", answer: `NO ANSWER (${err.message})` }),
        ),
      );
    } else {
      const r =
        kind === "write"
          ? ws.instruction.execute.mutate({
              instructions: [order],
              accounts: ["account1"],
              clientOrderId: `many-${i}`,
            })
          : ws.account.get.query({ accountId: "account1" });
      calls.push(
        r.then(
          () => ({ kind, via: "ws", answer: "200 OK" }),
          (err: { message?: string; data?: unknown }) => ({ kind, via: "ws", answer: answerOfTrpc(err), body: err }),
        ),
      );
    }
  }
  return calls;
}

import { afterEach, describe, expect, it } from "vitest";
import { closeGatewayClient, createGatewayClient, type GatewayClient, toGatewayError } from "../src/index.js";
import { type FixtureRouter, type FixtureServer, startFixtureServer } from "./fixture-server.js";
import { waitFor } from "@desk/testkit";

let server: FixtureServer | undefined;
let client: GatewayClient<FixtureRouter> | undefined;

afterEach(async () => {
  if (client) await closeGatewayClient(client);
  await server?.close();
  client = undefined;
  server = undefined;
});

describe("createGatewayClient over real sockets", () => {
  it("sends the token as a Bearer header over HTTP and keeps superjson types", async () => {
    server = await startFixtureServer();
    client = createGatewayClient<FixtureRouter>({ url: server.url, token: "t1" });
    const me = await client.whoami.query();
    expect(me.token).toBe("t1");
    expect(me.at).toBeInstanceOf(Date);
  });

  it("batches parallel queries and reports typed errors", async () => {
    server = await startFixtureServer();
    client = createGatewayClient<FixtureRouter>({ url: server.url });
    const [a, b] = await Promise.allSettled([client.whoami.query(), client.fail.query({ code: "TOO_MANY_REQUESTS" })]);
    expect(a.status === "rejected" && toGatewayError(a.reason).kind).toBe("unauthorized");
    expect(b.status === "rejected" && toGatewayError(b.reason).kind).toBe("rate_limited");
  });

  it("reports an unreachable gateway as backend_unavailable", async () => {
    server = await startFixtureServer();
    const url = server.url;
    await server.close();
    server = undefined;
    client = createGatewayClient<FixtureRouter>({ url, token: "t" });
    const err = await client.whoami.query().catch((e: unknown) => toGatewayError(e));
    expect(err).toMatchObject({ kind: "backend_unavailable" });
  });

  it("subscribes over ws (from the `ws` package on Node 20), reconnects after a restart on the same port with a refreshed token, and resumes from the last event id", async () => {
    const wsTokens: (string | undefined)[] = [];
    server = await startFixtureServer(0, wsTokens);
    const port = server.port;
    let token = "before";
    client = createGatewayClient<FixtureRouter>({
      url: server.url,
      getToken: () => token,
      reconnect: { baseMs: 50, maxMs: 200, jitterMs: 100 },
    });
    const seen: { n: number; token: string | null }[] = [];
    const sub = client.ticks.subscribe(undefined, { onData: (e) => seen.push(e.data) });
    await waitFor(() => seen.length >= 3, "first events");
    expect(seen[0]).toEqual({ n: 0, token: "before" });

    await server.close();
    token = "after";
    const countAtRestart = seen.length;
    server = await startFixtureServer(port, wsTokens);
    await waitFor(() => seen.some((e) => e.token === "after"), "events after the restart");
    sub.unsubscribe();

    expect(wsTokens[0]).toBe("before");
    expect(wsTokens.at(-1)).toBe("after");
    // tracked() ids + lastEventId: the stream continues where it stopped instead of restarting at 0.
    const firstAfter = seen.find((e) => e.token === "after");
    expect(firstAfter?.n).toBeGreaterThanOrEqual(countAtRestart - 1);
  });
});

describe("transport: ws", () => {
  it("sends queries over the WebSocket with the token from connectionParams", async () => {
    const wsTokens: (string | undefined)[] = [];
    server = await startFixtureServer(0, wsTokens);
    client = createGatewayClient<FixtureRouter>({ url: server.url, token: "over-ws", transport: "ws" });
    const me = await client.whoami.query();
    expect(me.token).toBe("over-ws");
    expect(me.at).toBeInstanceOf(Date);
    expect(wsTokens).toEqual(["over-ws"]);
  });
});

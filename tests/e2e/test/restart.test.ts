// The gateway goes away and comes back on the same port: the SDK's WebSocket reconnects
// by itself and the subscription resumes (events arrive again) without the app doing anything.
import { closeGatewayClient, createGatewayClient, type GatewayClient, login } from "@desk/sdk";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Stack, startStack } from "../src/stack.js";
import { until } from "../src/wait.js";

let stack: Stack;
let client: GatewayClient | undefined;

beforeAll(async () => {
  stack = await startStack({ tickMs: 100 });
});

afterAll(async () => {
  if (client) await closeGatewayClient(client);
  await stack?.close();
});

it("survives a gateway restart: the websocket reconnects and market ticks flow again", async () => {
  const { token } = await login(stack.url, "trader1", "trader123");
  const states: string[] = [];
  client = createGatewayClient({
    url: stack.url,
    getToken: () => token,
    reconnect: { baseMs: 100, maxMs: 1_000, jitterMs: 200 },
    onConnectionState: (s) => states.push(s.state),
  });
  const ticks: { symbol: string; seq: number }[] = [];
  const errors: unknown[] = [];
  const sub = client.market.onTick.subscribe(
    { symbols: ["510500"] },
    { onData: (e) => ticks.push({ symbol: e.data.symbol, seq: e.data.seq }), onError: (err) => errors.push(err) },
  );
  try {
    await until(() => ticks.length >= 3, "ticks before the restart");
    await stack.restartGateway();
    const countAfterRestart = ticks.length;
    await until(() => ticks.length >= countAfterRestart + 3, "ticks after the restart", 30_000);
    expect(errors).toEqual([]);
    expect(ticks.every((t) => t.symbol === "510500")).toBe(true);
    // It went through a reconnect rather than never noticing.
    expect(states).toContain("connecting");
  } finally {
    sub.unsubscribe();
  }
});

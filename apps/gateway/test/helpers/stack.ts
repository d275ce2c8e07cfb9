import { type GatewayConfig, startGateway } from "../../src/index.js";
import { type FakeBackend, startFakeBackend } from "./fake-backend.js";

export const TEST_SECRET = "test-secret-0123456789abcdef";

/** Gateway settings for tests: OS-chosen port, short timeouts, quiet logs. */
export function testConfig(
  backend: { brokerUrl: string; pubUrl: string },
  extra: Partial<GatewayConfig> = {},
): Partial<GatewayConfig> {
  return {
    port: 0,
    host: "127.0.0.1",
    brokerUrl: backend.brokerUrl,
    pubUrl: backend.pubUrl,
    useMock: false,
    jwtSecret: TEST_SECRET,
    logLevel: "silent",
    zmqTimeout: 1500,
    zmqRetries: 2,
    heartbeatInterval: 200,
    topicLingerMs: 500,
    wsKeepAliveMs: 0,
    shutdownGraceMs: 1000,
    ...extra,
  };
}

export async function startStack(extra: Partial<GatewayConfig> = {}) {
  const backend: FakeBackend = await startFakeBackend();
  const gateway = await startGateway(testConfig(backend, extra));
  return {
    backend,
    gateway,
    async close() {
      await gateway.close();
      await backend.close();
    },
  };
}

export interface RestReply {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: test convenience for reading JSON bodies
  body: any;
}

export async function rest(
  baseUrl: string,
  method: "GET" | "POST",
  path: string,
  o: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<RestReply> {
  const headers: Record<string, string> = { ...o.headers };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  if (o.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (e.g. /metrics)
  }
  return { status: res.status, headers: res.headers, body };
}

export async function login(baseUrl: string, username: string, password: string): Promise<string> {
  const r = await rest(baseUrl, "POST", "/api/v1/auth/login", { body: { username, password } });
  if (r.status !== 200) throw new Error(`login ${username} failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.token as string;
}

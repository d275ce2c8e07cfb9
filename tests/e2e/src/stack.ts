// Server side of the end-to-end tests: a real mock backend (broker + workers + publisher
// over ZeroMQ on 127.0.0.1) and a real gateway in front of it. Only the consumer code in
// test/ is restricted to "@desk/sdk"; starting servers is the test's business.
import { type GatewayConfig, startGateway } from "@desk/gateway";
import { startMockBackend } from "@desk/mock-broker";

export interface Stack {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  /** Closes the gateway and starts a new one on the same port (the backend keeps running). */
  restartGateway(): Promise<void>;
  /** The two halves of a restart, for tests that look at the client while the gateway is away. */
  stopGateway(): Promise<void>;
  startGateway(): Promise<void>;
  close(): Promise<void>;
}

const JWT_SECRET = "e2e-secret-at-least-16-characters";

export async function startStack(
  o: {
    tickMs?: number;
    jwtTtlSeconds?: number;
    sessionTtlSeconds?: number;
    /** A file for the gateway's audit trail (AUDIT_LOG). */
    auditLog?: string;
    consoleDir?: string;
    gateway?: Partial<GatewayConfig>;
  } = {},
): Promise<Stack> {
  const backend = await startMockBackend({
    brokerEndpoint: "tcp://127.0.0.1:*",
    pubEndpoint: "tcp://127.0.0.1:*",
    tickMs: o.tickMs ?? 200,
    heartbeatInterval: 200,
    seed: 7,
  });
  const gatewayConfig = (port: number) => ({
    port,
    host: "127.0.0.1",
    brokerUrl: backend.brokerUrl,
    pubUrl: backend.pubUrl,
    useMock: false,
    jwtSecret: JWT_SECRET,
    heartbeatInterval: 200,
    zmqTimeout: 5_000,
    logLevel: "silent" as const,
    ...(o.jwtTtlSeconds ? { jwtTtlSeconds: o.jwtTtlSeconds } : {}),
    ...(o.sessionTtlSeconds ? { sessionTtlSeconds: o.sessionTtlSeconds } : {}),
    ...(o.auditLog ? { auditLog: o.auditLog } : {}),
    // The built console at `/` when a test wants it, none otherwise.
    consoleDir: o.consoleDir ?? null,
    ...o.gateway,
  });
  let gateway: Awaited<ReturnType<typeof startGateway>> | null = await startGateway(gatewayConfig(0)).catch(
    async (err: unknown) => {
      await backend.close();
      throw err;
    },
  );
  const port = gateway.port;

  const stopGateway = async () => {
    const running = gateway;
    gateway = null;
    await running?.close();
  };
  const startAgain = async () => {
    if (gateway) throw new Error("the gateway is already running");
    gateway = await startGateway(gatewayConfig(port));
  };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stopGateway,
    startGateway: startAgain,
    async restartGateway() {
      await stopGateway();
      await startAgain();
    },
    async close() {
      await stopGateway();
      await backend.close();
    },
  };
}

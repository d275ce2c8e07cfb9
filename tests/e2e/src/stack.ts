// Server side of the end-to-end tests: a real mock backend (broker + workers + publisher
// over ZeroMQ on 127.0.0.1) and a real gateway in front of it. Only the consumer code in
// test/ is restricted to "@desk/sdk"; starting servers is the test's business.
import { startGateway } from "@desk/gateway";
import { startMockBackend } from "@desk/mock-broker";

export interface Stack {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  /** Closes the gateway and starts a new one on the same port (the backend keeps running). */
  restartGateway(): Promise<void>;
  close(): Promise<void>;
}

const JWT_SECRET = "e2e-secret-at-least-16-characters";

export async function startStack(o: { tickMs?: number } = {}): Promise<Stack> {
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
  });
  let gateway = await startGateway(gatewayConfig(0)).catch(async (err: unknown) => {
    await backend.close();
    throw err;
  });
  const port = gateway.port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    async restartGateway() {
      await gateway.close();
      gateway = await startGateway(gatewayConfig(port));
    },
    async close() {
      await gateway.close();
      await backend.close();
    },
  };
}

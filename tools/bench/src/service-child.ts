// Runs one server of the bench in its own process, so the system under test does not
// share an event loop with the load generator: "backend" (instant MDP broker + workers)
// or "gateway" (the real gateway in front of a backend).
import { startBenchGateway } from "./gateway.js";
import { startInstantBackend } from "./instant-backend.js";

export type ServiceRequest =
  | { type: "start"; kind: "backend" }
  | { type: "start"; kind: "gateway"; brokerUrl: string; pubUrl: string }
  | { type: "usage" }
  | { type: "close" };
export type ServiceReply =
  | { type: "ready"; url: string }
  | { type: "failed"; error: string }
  | { type: "usage"; cpuMs: number }
  | { type: "closed" };

const reply = (m: ServiceReply) => process.send?.(m);
let close: (() => Promise<void>) | undefined;

process.on("message", async (m: ServiceRequest) => {
  try {
    if (m.type === "start" && m.kind === "backend") {
      const backend = await startInstantBackend();
      close = backend.close;
      reply({ type: "ready", url: backend.brokerUrl });
    } else if (m.type === "start" && m.kind === "gateway") {
      const gateway = await startBenchGateway({ brokerUrl: m.brokerUrl, pubUrl: m.pubUrl });
      close = gateway.close;
      reply({ type: "ready", url: gateway.url });
    } else if (m.type === "usage") {
      const u = process.cpuUsage();
      reply({ type: "usage", cpuMs: (u.user + u.system) / 1000 });
    } else if (m.type === "close") {
      await close?.();
      reply({ type: "closed" });
      process.exit(0);
    }
  } catch (err) {
    reply({ type: "failed", error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
});
// The parent going away must not leave servers behind.
process.on("disconnect", () => process.exit(0));

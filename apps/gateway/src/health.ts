import { serviceNames } from "@desk/contracts";
import { z } from "zod";
import type { BackendRpc } from "./backend/rpc.js";
import type { PubSubscriber } from "./backend/subscriber.js";
import type { BrokerClient } from "./backend/types.js";

export const HealthReport = z.object({
  status: z.enum(["ok", "degraded", "down"]).describe("down: broker unreachable; degraded: a service has no worker or the SUB socket is not connected"),
  mode: z.enum(["mock", "real"]),
  uptimeSeconds: z.number(),
  startedAt: z.string(),
  broker: z.object({
    url: z.string(),
    endpoint: z.string().describe("the endpoint currently in use"),
    reachable: z.boolean(),
  }),
  services: z.record(z.string(), z.enum(["available", "no_workers", "unsupported", "unknown"])),
  requests: z.object({
    pending: z.number(),
    sent: z.number(),
    replies: z.number(),
    timeouts: z.number(),
    retries: z.number(),
    reconnects: z.number(),
    lateReplies: z.number(),
  }),
  pubsub: z.object({
    url: z.string(),
    state: z.string(),
    topics: z.number(),
    received: z.number(),
    rejected: z.number(),
    lastMessageAt: z.string().nullable(),
    lastVnpyHeartbeatAt: z.string().nullable(),
  }),
  websocket: z.object({ clients: z.number() }),
  pickleCodec: z.enum(["native", "python"]),
});
export type HealthReport = z.infer<typeof HealthReport>;

const mmiMeaning = { "200": "available", "404": "no_workers", "501": "unsupported" } as const;

/** Builds /health: asks the broker (mmi.service) about each service, in parallel, with a short timeout. */
export function createHealthCheck(o: {
  rpc: BackendRpc;
  client: BrokerClient;
  subscriber: PubSubscriber;
  brokerUrl: string;
  mock: boolean;
  pickleCodec: "native" | "python";
  wsClients: () => number;
  probeTimeoutMs?: number;
}): () => Promise<HealthReport> {
  const startedAt = Date.now();
  return async () => {
    const timeout = o.probeTimeoutMs ?? 1000;
    const answers = await Promise.all(serviceNames.map((s) => o.rpc.serviceStatus(s, timeout)));
    const services: HealthReport["services"] = {};
    serviceNames.forEach((s, i) => {
      const a = answers[i]!;
      services[s] = a === "unreachable" ? "unknown" : mmiMeaning[a];
    });
    const reachable = answers.some((a) => a !== "unreachable");
    const stats = o.client.stats();
    const pubsub = o.subscriber.status();
    const allUp = Object.values(services).every((s) => s === "available");
    return {
      status: !reachable ? "down" : allUp && pubsub.state === "connected" ? "ok" : "degraded",
      mode: o.mock ? "mock" : "real",
      uptimeSeconds: Math.round((Date.now() - startedAt) / 100) / 10,
      startedAt: new Date(startedAt).toISOString(),
      broker: { url: o.brokerUrl, endpoint: stats.endpoint, reachable },
      services,
      requests: {
        pending: stats.inFlight,
        sent: stats.sent,
        replies: stats.replies,
        timeouts: stats.timeouts,
        retries: stats.retries,
        reconnects: stats.reconnects,
        lateReplies: stats.lateReplies,
      },
      pubsub,
      websocket: { clients: o.wsClients() },
      pickleCodec: o.pickleCodec,
    };
  };
}

import { serviceNames } from "@desk/contracts";
import type { MdpBrokerStats } from "@desk/mdp";
import { z } from "zod";
import type { BrokerWatch } from "./backend/broker-watch.js";
import type { BackendRpc } from "./backend/rpc.js";
import type { PubSubscriber } from "./backend/subscriber.js";
import type { BrokerClient } from "./backend/types.js";
import type { MdpBrokerCurveStats } from "@desk/mdp";

export const HealthReport = z.object({
  status: z
    .enum(["ok", "degraded", "down"])
    .describe("down: broker unreachable; degraded: a service has no worker or the SUB socket is not connected"),
  mode: z.enum(["mock", "real"]),
  uptimeSeconds: z.number(),
  startedAt: z.string(),
  checkedAt: z
    .string()
    .describe("when the broker was last asked about the services (answers are reused for about a second)"),
  broker: z.object({
    url: z.string(),
    endpoint: z.string().describe("the endpoint currently in use"),
    reachable: z.boolean(),
    knownDown: z.boolean().describe("no broker is listening: calls fail at once with 503 until one does"),
    extensions: z
      .enum(["yes", "no", "unknown"])
      .describe("does the broker join retries and withdraw queued writes (mmi.session, mmi.cancel)"),
  }),
  dedupeWrites: z
    .boolean()
    .describe("ZMQ_DEDUPE_WRITES: writes are retried like reads, the backend answers repeats from its reply cache"),
  services: z.record(z.string(), z.enum(["available", "no_workers", "unsupported", "unknown"])),
  requests: z.object({
    pending: z.number(),
    sent: z.number(),
    replies: z.number(),
    timeouts: z.number(),
    retries: z.number(),
    reconnects: z.number(),
    lateReplies: z.number(),
    brokerErrors: z.number(),
    badReplies: z.number(),
    outcomeUnknown: z.number().describe("writes that ended with an unknown outcome (may have run)"),
    withdrawn: z.number().describe("writes withdrawn from the broker's queue: certainly not run"),
  }),
  mockBroker: z
    .object({
      // The subset of MdpBrokerStats a dashboard wants; parsing a stats object picks them.
      requests: z.number(),
      replies: z.number(),
      joined: z.number(),
      cancelled: z.number(),
      expired: z.number(),
      queueFull: z.number(),
      workersLost: z.number(),
      workersGone: z.number(),
      undelivered: z.number(),
      backlog: z.number(),
      deferred: z.number(),
      held: z.number(),
      disconnects: z.number(),
      sessions: z.number(),
    })
    .nullable()
    .describe("the in-process mock's broker counters (mode mock only)"),
  pubsub: z.object({
    url: z.string(),
    state: z.string(),
    topics: z.number(),
    received: z.number(),
    rejected: z.number(),
    lastMessageAt: z.string().nullable(),
    lastVnpyHeartbeatAt: z.string().nullable(),
  }),
  websocket: z.object({
    clients: z.number().describe("tRPC WebSocket connections"),
    socketio: z.number().describe("socket.io connections (the source document's event API)"),
  }),
  pickleCodec: z.enum(["native", "python"]),
  security: z
    .object({
      curve: z.boolean().describe("this gateway's broker and SUB connections use CURVE, pinning the peers' keys"),
      handshakeFailures: z
        .object({ broker: z.number(), pubsub: z.number() })
        .describe("CURVE handshakes that failed: a peer without the pinned key, or one that refused ours"),
      broker: z
        .object({
          curve: z.boolean(),
          admitted: z.number(),
          refused: z.number().describe("valid keys not on the allow-list for the endpoint (a rogue worker or client)"),
          handshakeFailures: z.number().describe("peers without CURVE or with the wrong server key"),
          wrongEndpoint: z.number().describe("worker commands on the client endpoint, READY for another service"),
        })
        .nullable()
        .describe("the broker's own counters, when this gateway runs it (the in-process mock); null otherwise"),
    })
    .describe("transport security"),
});
export type HealthReport = z.infer<typeof HealthReport>;
const MockBrokerFigures = HealthReport.shape.mockBroker.unwrap();

const mmiMeaning = { "200": "available", "404": "no_workers", "501": "unsupported" } as const;

/**
 * Builds /health: asks the broker (mmi.service, one try each, short timeout)
 * about every service in parallel. /health is public and pollers hit it often,
 * so the broker's answers are reused for `cacheMs` (concurrent callers share one
 * round of questions); counters and states are read fresh on every call.
 */
export function createHealthCheck(o: {
  rpc: BackendRpc;
  client: BrokerClient;
  subscriber: PubSubscriber;
  brokerUrl: string;
  broker: BrokerWatch;
  dedupeWrites: boolean;
  mock: boolean;
  /** The in-process mock's broker, when this gateway started it. */
  mockBrokerStats?: (() => MdpBrokerStats) | undefined;
  pickleCodec: "native" | "python";
  wsClients: () => number;
  /** The in-process mock broker's CURVE counters, when this gateway runs it. */
  brokerCurve?: () => MdpBrokerCurveStats;
  socketIoClients?: () => number;
  probeTimeoutMs?: number;
  cacheMs?: number;
}): () => Promise<HealthReport> {
  const startedAt = Date.now();
  const cacheMs = o.cacheMs ?? 1000;
  let cached: { at: number; answers: Promise<Array<Awaited<ReturnType<BackendRpc["serviceStatus"]>>>> } | undefined;
  const askBroker = () => {
    const now = Date.now();
    if (!cached || now - cached.at >= cacheMs) {
      const timeout = o.probeTimeoutMs ?? 500;
      cached = { at: now, answers: Promise.all(serviceNames.map((s) => o.rpc.serviceStatus(s, timeout))) };
    }
    return cached;
  };
  return async () => {
    const asked = askBroker();
    const answers = await asked.answers;
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
      checkedAt: new Date(asked.at).toISOString(),
      broker: {
        url: o.brokerUrl,
        endpoint: stats.endpoint,
        reachable,
        knownDown: o.broker.isDown(),
        extensions: stats.brokerExtensions,
      },
      dedupeWrites: o.dedupeWrites,
      services,
      requests: {
        pending: stats.inFlight,
        sent: stats.sent,
        replies: stats.replies,
        timeouts: stats.timeouts,
        retries: stats.retries,
        reconnects: stats.reconnects,
        lateReplies: stats.lateReplies,
        brokerErrors: stats.brokerErrors,
        badReplies: stats.badReplies,
        outcomeUnknown: stats.outcomeUnknown,
        withdrawn: stats.withdrawn,
      },
      mockBroker: o.mockBrokerStats ? MockBrokerFigures.parse(o.mockBrokerStats()) : null,
      pubsub,
      websocket: { clients: o.wsClients(), socketio: o.socketIoClients?.() ?? 0 },
      pickleCodec: o.pickleCodec,
      security: securityOf(stats, pubsub, o.brokerCurve?.()),
    };
  };
}

function securityOf(
  client: ReturnType<BrokerClient["stats"]>,
  pubsub: ReturnType<PubSubscriber["status"]>,
  broker: MdpBrokerCurveStats | undefined,
): HealthReport["security"] {
  return {
    curve: client.curve,
    handshakeFailures: { broker: client.handshakeFailures, pubsub: pubsub.handshakeFailures },
    broker:
      broker === undefined
        ? null
        : {
            curve: broker.enabled,
            admitted: broker.admitted,
            refused: broker.refused,
            handshakeFailures: broker.handshakeFailures,
            wrongEndpoint: broker.wrongEndpoint,
          },
  };
}

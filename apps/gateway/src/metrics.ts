import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/**
 * Prometheus metrics. One Registry per gateway instance (never the global one),
 * so several gateways in one process (tests) keep separate figures.
 */
export function createMetrics(o: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (o.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: "gateway_" });
  const backendRequests = new Counter({
    name: "gateway_backend_requests_total",
    help: "Backend calls by service, method and outcome (ok, error, timeout, unavailable, bad_reply)",
    labelNames: ["service", "method", "outcome"] as const,
    registers: [registry],
  });
  const backendLatency = new Histogram({
    name: "gateway_backend_request_duration_seconds",
    help: "Backend call latency, including retries",
    labelNames: ["service", "method"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const backendErrors = new Counter({
    name: "gateway_backend_errors_total",
    help: "Backend calls that failed, by service, method and mapped error code",
    labelNames: ["service", "method", "code"] as const,
    registers: [registry],
  });
  const backendTimeouts = new Counter({
    name: "gateway_backend_timeouts_total",
    help: "Backend calls that ran out of tries",
    labelNames: ["service", "method"] as const,
    registers: [registry],
  });
  const procedureCalls = new Counter({
    name: "gateway_procedure_calls_total",
    help: "tRPC / REST procedure calls by path, type and result code",
    labelNames: ["path", "type", "code"] as const,
    registers: [registry],
  });
  const procedureLatency = new Histogram({
    name: "gateway_procedure_duration_seconds",
    help: "tRPC / REST procedure latency (subscriptions: time to set up)",
    labelNames: ["path", "type"] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const rateLimited = new Counter({
    name: "gateway_rate_limited_total",
    help: "Requests refused by the rate limiter, by scope (user, ip)",
    labelNames: ["scope"] as const,
    registers: [registry],
  });
  const authFailures = new Counter({
    name: "gateway_auth_failures_total",
    help: "Requests refused for a missing, bad or expired token, or a missing permission",
    labelNames: ["reason"] as const,
    registers: [registry],
  });
  const wsClients = new Gauge({
    name: "gateway_ws_clients",
    help: "Open WebSocket connections",
    registers: [registry],
  });
  const wsSlowClientsClosed = new Counter({
    name: "gateway_ws_slow_clients_closed_total",
    help: "WebSocket clients disconnected because their send buffer stayed full",
    registers: [registry],
  });
  const subscriptions = new Gauge({
    name: "gateway_subscriptions",
    help: "Active subscriptions by kind",
    labelNames: ["kind"] as const,
    registers: [registry],
  });
  const pubsubEvents = new Counter({
    name: "gateway_pubsub_events_total",
    help: "Events received on the SUB socket, by kind and result (delivered, invalid, undecodable, heartbeat)",
    labelNames: ["kind", "result"] as const,
    registers: [registry],
  });
  const pubsubDropped = new Counter({
    name: "gateway_pubsub_dropped_total",
    help: "Events dropped from a slow subscriber's queue (oldest first)",
    labelNames: ["kind"] as const,
    registers: [registry],
  });
  return {
    registry,
    backendRequests,
    backendLatency,
    backendErrors,
    backendTimeouts,
    procedureCalls,
    procedureLatency,
    rateLimited,
    authFailures,
    wsClients,
    wsSlowClientsClosed,
    subscriptions,
    pubsubEvents,
    pubsubDropped,
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * Counters owned by the MdpClient (retries, reconnects, late replies) are read
 * from its stats at scrape time rather than mirrored on every event.
 */
export function registerMdpStats(metrics: Metrics, stats: () => Record<string, number | string | boolean>): void {
  const fields = [
    ["inFlight", "gateway_mdp_in_flight", "Requests waiting for a broker reply"],
    ["retries", "gateway_mdp_retries", "Retries made by the Majordomo client since start"],
    ["timeouts", "gateway_mdp_timeouts", "Tries that timed out since start"],
    ["reconnects", "gateway_mdp_reconnects", "Broker socket reopenings since start"],
    ["lateReplies", "gateway_mdp_late_replies", "Replies that arrived after their caller gave up"],
    ["brokerErrors", "gateway_mdp_broker_errors", "Error replies originated by the broker"],
    [
      "handshakeFailures",
      "gateway_mdp_curve_handshake_failures",
      "CURVE handshakes with the broker that failed (it lacks the pinned key, or refused ours)",
    ],
  ] as const;
  for (const [field, name, help] of fields) {
    new Gauge({
      name,
      help,
      registers: [metrics.registry],
      collect() {
        const value = stats()[field];
        if (typeof value === "number") this.set(value);
      },
    });
  }
}

/**
 * Transport security counters at scrape time: the SUB socket's failed CURVE
 * handshakes and, when this gateway runs the broker (the in-process mock), the
 * broker's refusals.
 */
export function registerCurveStats(
  metrics: Metrics,
  read: () => {
    pubsubHandshakeFailures: number;
    broker?: { refused: number; handshakeFailures: number; wrongEndpoint: number };
  },
): void {
  new Gauge({
    name: "gateway_pubsub_curve_handshake_failures",
    help: "CURVE handshakes with the publisher that failed (it lacks the pinned key, or refused ours)",
    registers: [metrics.registry],
    collect() {
      this.set(read().pubsubHandshakeFailures);
    },
  });
  new Gauge({
    name: "gateway_broker_curve_refusals",
    help: "Peers the in-process broker turned away: key not listed (refused), no CURVE or wrong server key (handshake), READY for another service or worker commands on the client endpoint (wrong_endpoint)",
    labelNames: ["reason"],
    registers: [metrics.registry],
    collect() {
      const broker = read().broker;
      if (broker === undefined) return;
      this.set({ reason: "refused" }, broker.refused);
      this.set({ reason: "handshake" }, broker.handshakeFailures);
      this.set({ reason: "wrong_endpoint" }, broker.wrongEndpoint);
    },
  });
}

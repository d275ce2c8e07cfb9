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
  const callOverhead = new Histogram({
    name: "gateway_call_overhead_seconds",
    help: "The gateway's own time per query or mutation: from the arrival of its request (or WebSocket message) to the write of its reply, minus its backend calls' time",
    labelNames: ["transport"] as const,
    buckets: [0.00005, 0.0001, 0.00015, 0.0002, 0.0003, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05],
    registers: [registry],
  });
  // Children resolved once: this runs once per call.
  const overheadByTransport = {
    http: callOverhead.labels({ transport: "http" }),
    ws: callOverhead.labels({ transport: "ws" }),
  };
  const recordCallOverhead = (transport: "http" | "ws", seconds: number) =>
    overheadByTransport[transport].observe(seconds);
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
    help: "Events received on the SUB socket, by kind and result (delivered; superseded: a market tick followed by a newer one of its symbol in the same event-loop turn, kept for replay but only the newer handed out; invalid, undecodable, heartbeat)",
    labelNames: ["kind", "result"] as const,
    registers: [registry],
  });
  const pubsubDropped = new Counter({
    name: "gateway_pubsub_dropped_total",
    help: "Events dropped from a slow subscriber's queue (oldest first)",
    labelNames: ["kind"] as const,
    registers: [registry],
  });
  const pubsubConflated = new Counter({
    name: "gateway_pubsub_conflated_total",
    help: "Market ticks replaced in a slow subscriber's queue by a newer tick of the same symbol (conflation)",
    labelNames: ["kind"] as const,
    registers: [registry],
  });
  const subscriptionStreams = new Counter({
    name: "gateway_subscription_streams_total",
    help: "tRPC subscriptions opened, by how their frames are written: direct (the stream writes them, http/direct-subscriptions.ts) or trpc (tRPC's per-item loop)",
    labelNames: ["delivery"] as const,
    registers: [registry],
  });
  const writeRepeats = new Counter({
    name: "gateway_write_repeats_total",
    help: "Repeats of a write with a clientOrderId answered from the gateway's memory, not sent again, by answer (result, failure, outcome_unknown)",
    labelNames: ["answer"] as const,
    registers: [registry],
  });
  const writeOutcomesLearnt = new Counter({
    name: "gateway_write_outcomes_learnt_total",
    help: "Writes whose caller was told the outcome is unknown and whose outcome the gateway learnt later, by source (late_reply, execution_topic)",
    labelNames: ["source"] as const,
    registers: [registry],
  });
  return {
    registry,
    writeRepeats,
    writeOutcomesLearnt,
    backendRequests,
    backendLatency,
    backendErrors,
    backendTimeouts,
    procedureCalls,
    procedureLatency,
    callOverhead,
    recordCallOverhead,
    rateLimited,
    authFailures,
    wsClients,
    wsSlowClientsClosed,
    subscriptions,
    pubsubEvents,
    pubsubDropped,
    pubsubConflated,
    subscriptionStreams,
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** A figure read at scrape time: [field of the stats object, metric name, help]. */
type Figure = readonly [string, string, string];

/** Gauges that read `stats()` at scrape time rather than being mirrored on every event. */
function registerFigures(metrics: Metrics, figures: readonly Figure[], stats: () => object): void {
  for (const [field, name, help] of figures) {
    new Gauge({
      name,
      help,
      registers: [metrics.registry],
      collect() {
        const value = (stats() as Record<string, unknown>)[field];
        if (typeof value === "number") this.set(value);
      },
    });
  }
}

const mdpFigures: readonly Figure[] = [
  ["inFlight", "gateway_mdp_in_flight", "Requests waiting for a broker reply"],
  ["retries", "gateway_mdp_retries", "Retries made by the Majordomo client since start"],
  ["timeouts", "gateway_mdp_timeouts", "Tries that timed out since start"],
  ["reconnects", "gateway_mdp_reconnects", "Broker socket reopenings since start"],
  ["lateReplies", "gateway_mdp_late_replies", "Replies that arrived after their caller gave up"],
  ["brokerErrors", "gateway_mdp_broker_errors", "Error replies originated by the broker"],
  ["badReplies", "gateway_mdp_bad_replies", "Replies that were not MDP client frames or matched no request"],
  ["outcomeUnknown", "gateway_mdp_outcome_unknown", "Writes that ended OUTCOME_UNKNOWN (may have run) since start"],
  ["withdrawn", "gateway_mdp_withdrawn", "Writes withdrawn from the broker's queue (mmi.cancel): certainly not run"],
  [
    "handshakeFailures",
    "gateway_mdp_curve_handshake_failures",
    "CURVE handshakes with the broker that failed (it lacks the pinned key, or refused ours)",
  ],
  [
    "brokerExtensions",
    "gateway_mdp_broker_extensions",
    "Does the broker join retries and withdraw queued writes (mmi.session, mmi.cancel): 1 yes, 0 no, -1 not known yet",
  ],
];

/** Counters owned by the MdpClient (retries, reconnects, late replies, unknown outcomes), read at scrape time. */
export function registerMdpStats(metrics: Metrics, stats: () => Record<string, unknown>): void {
  const extensions: Record<string, number> = { yes: 1, no: 0, unknown: -1 };
  registerFigures(metrics, mdpFigures, () => {
    const s = stats();
    return { ...s, brokerExtensions: extensions[String(s.brokerExtensions)] ?? -1 };
  });
}

const mockBrokerFigures: readonly Figure[] = [
  ["requests", "gateway_mock_broker_requests", "Requests the in-process mock's broker received"],
  ["replies", "gateway_mock_broker_replies", "Worker replies it forwarded"],
  ["joined", "gateway_mock_broker_joined", "Retries joined to the request already queued or running"],
  ["cancelled", "gateway_mock_broker_cancelled", "Requests withdrawn from a queue (mmi.cancel)"],
  ["expired", "gateway_mock_broker_expired", "Requests no worker took within requestTtl"],
  ["queueFull", "gateway_mock_broker_queue_full", "Requests refused by a queue bound"],
  ["workersLost", "gateway_mock_broker_workers_lost", "Requests whose worker went away holding them"],
  ["workersGone", "gateway_mock_broker_workers_gone", "Workers removed because a send to them failed"],
  ["undelivered", "gateway_mock_broker_undelivered", "Answers that never reached their client (each logged)"],
  ["backlog", "gateway_mock_broker_backlog", "Answers waiting now for a client whose pipe is full"],
  ["deferred", "gateway_mock_broker_deferred", "Answers that had to wait for a full client pipe, then sent"],
  ["held", "gateway_mock_broker_held", "Answers held now for a session whose socket went away"],
  ["disconnects", "gateway_mock_broker_disconnects", "Connections closed (peers gone, or refused an oversized frame)"],
  ["sessions", "gateway_mock_broker_sessions", "Client sessions (mmi.session) the broker knows"],
];

/** The in-process mock's broker counters (MdpBrokerStats), when this gateway started the mock. */
export function registerMockBrokerStats(metrics: Metrics, stats: () => object): void {
  registerFigures(metrics, mockBrokerFigures, stats);
}

/** 1 while no broker is listening (calls fail at once), 0 otherwise. */
export function registerBrokerDown(metrics: Metrics, isDown: () => boolean): void {
  new Gauge({
    name: "gateway_broker_down",
    help: "1 while no broker is listening at ZMQ_BROKER_URL (calls fail at once with 503), else 0",
    registers: [metrics.registry],
    collect() {
      this.set(isDown() ? 1 : 0);
    },
  });
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

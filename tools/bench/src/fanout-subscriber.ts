// Child process for the fan-out bench: opens `count` SDK clients (one WebSocket each),
// subscribes each to market ticks and measures, per event, the delay from the publisher's
// timestamp (`ts`, set just before the ZeroMQ send) to receipt here. Reports a latency
// histogram and per-subscriber counts of the measured events (seq >= MEASURED_SEQ_BASE).
import { type MarketTick, createGatewayClient } from "@desk/sdk";
import { connectEvents } from "@desk/sdk/events";
import { type FromChild, MEASURED_SEQ_BASE, type ToChild } from "./fanout-protocol.js";
import { Histogram } from "./stats.js";

const send = (m: FromChild) => process.send?.(m);

const histogram = new Histogram();
const staleness = new Histogram();
/** Publisher timestamp (epoch ms) of the newest measured tick each subscriber holds; 0 before its first. */
let newestTs: number[] = [];
let received: number[] = [];
let lastSeq: number[] = [];
let duplicates = 0;
let lastReceiptAt = 0;
let errors = 0;
let reconnects = 0;
let total = 0;
let readyCount = 0;
let deadline = Number.POSITIVE_INFINITY;
let reported = false;

function start(m: Extract<ToChild, { type: "start" }>): void {
  received = new Array(m.subscriptions.length).fill(0);
  lastSeq = new Array(m.subscriptions.length).fill(-1);
  newestTs = new Array(m.subscriptions.length).fill(0);
  const seen = new Array<boolean>(m.subscriptions.length).fill(false);
  m.subscriptions.forEach((symbols, i) => {
    const onTick = (data: MarketTick) => {
      const now = Date.now();
      if (now > deadline) return;
      if (!seen[i]) {
        seen[i] = true;
        readyCount += 1;
        if (readyCount === m.subscriptions.length) send({ type: "ready" });
      }
      if (data.seq < MEASURED_SEQ_BASE) return;
      // Per-symbol sequences interleave when a subscriber follows several symbols: count
      // a repeat only for single-symbol subscribers, where seq must strictly increase.
      if (symbols.length === 1 && data.seq <= (lastSeq[i] ?? -1)) {
        duplicates += 1;
        return;
      }
      lastSeq[i] = data.seq;
      received[i] = (received[i] ?? 0) + 1;
      total += 1;
      lastReceiptAt = now;
      const ts = Date.parse(data.ts);
      histogram.record(now - ts);
      if (ts > newestTs[i]!) newestTs[i] = ts;
    };
    const onError = (err: unknown) => {
      if (errors === 0) process.stderr.write(`fan-out subscriber error: ${JSON.stringify(err) ?? String(err)}\n`);
      errors += 1;
    };
    if (m.transport === "socket.io") {
      // WebSocket from the start, as the tRPC row's clients: no long-polling handshake and upgrade per client.
      const socket = connectEvents(m.url, m.token, {
        transports: ["websocket"],
        reconnectionDelay: 200,
        reconnectionDelayMax: 2_000,
      });
      socket.io.on("reconnect_attempt", () => {
        if (seen[i]) reconnects += 1;
      });
      socket.on("market:tick", onTick);
      socket.on("error", onError);
      socket.emit("market:subscribe", { symbols });
      return;
    }
    const client = createGatewayClient({
      url: m.url,
      token: m.token,
      keepAliveMs: false,
      reconnect: { baseMs: 200, maxMs: 2_000, jitterMs: 500 },
      onConnectionState: (s) => {
        if (s.state === "connecting" && seen[i]) reconnects += 1;
      },
    });
    client.market.onTick.subscribe({ symbols }, { onData: ({ data }) => onTick(data), onError });
  });
}

function report(): void {
  if (reported) return;
  reported = true;
  deadline = Math.min(deadline, Date.now());
  const cpu = process.cpuUsage();
  send({
    type: "report",
    received,
    duplicates,
    lastReceiptAt,
    errors,
    reconnects,
    cpuMs: (cpu.user + cpu.system) / 1000,
    histogram: histogram.toJSON(),
    staleness: staleness.toJSON(),
  });
}

/** Every 50 ms in the window: how old is the newest tick each subscriber holds (one that has had a measured tick). */
function sampleStaleness(window: { from: number; until: number }): void {
  const timer = setInterval(() => {
    const now = Date.now();
    if (now < window.from) return;
    if (now > window.until || reported) {
      clearInterval(timer);
      return;
    }
    for (const ts of newestTs) if (ts > 0) staleness.record(now - ts);
  }, 50);
}

setInterval(() => send({ type: "progress", received: total, ready: readyCount, errors }), 250);

process.on("message", async (m: ToChild) => {
  if (m.type === "start") start(m);
  else if (m.type === "report" && m.deadline !== undefined) {
    deadline = m.deadline;
    if (m.staleness) sampleStaleness(m.staleness);
    setTimeout(report, Math.max(0, m.deadline - Date.now()));
  } else if (m.type === "report") report();
});
// The parent kills this process once it has the report (closing 1,000 backlogged sockets
// gracefully would only slow the bench down); if the parent dies first, go too.
process.on("disconnect", () => process.exit(0));

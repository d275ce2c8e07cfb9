// Pub/sub fan-out: a ZeroMQ PUB publishing market ticks at a fixed rate (as the trading
// system would), the gateway's SUB socket, and many WebSocket subscribers (SDK clients)
// in child processes; the gateway and the backend it logs in against run in their own
// child processes too, so no two of them share an event loop.
import { fork, type ChildProcess } from "node:child_process";
import type { UnderlyingTick } from "@desk/contracts";
import { dumps } from "@desk/pickle";
import { login } from "@desk/sdk";
import { Publisher } from "zeromq";
import { type FanoutTransport, type FromChild, MEASURED_SEQ_BASE, type ToChild } from "./fanout-protocol.js";
import { benchLogin } from "./instant-backend.js";
import type { Row } from "./report.js";
import { siblingScript, startServiceProcess } from "./services.js";
import { settings } from "./settings.js";
import { Histogram } from "./stats.js";

export interface FanoutScenario {
  name: string;
  subscribers: number;
  eventsPerSecond: number;
  /** ticks rotate over this many symbols */
  symbols: number;
  /** each subscriber follows this many consecutive symbols (wrapping) */
  symbolsPerSubscriber: number;
  measureMs: number;
  /** the targets for this row, if any */
  targets?: {
    /** delivered / offered at least this */
    deliveredRatio?: number;
    p99Ms?: number;
    /** nothing expected left undelivered */
    noDrops?: boolean;
    /** p99 age of the newest tick a subscriber holds, sampled every 50 ms while publishing */
    stalenessP99Ms?: number;
  };
  transport: FanoutTransport;
}

const symbolName = (i: number) => `${510000 + i}`;

/** Publishes [topic, pickle(tick)] at a steady rate, stamping `ts` right before each send. */
class TickPublisher {
  private readonly socket = new Publisher({ linger: 0, sendHighWaterMark: 1_000_000 });
  private readonly seqs: number[];
  readonly published: number[];
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> = Promise.resolve();
  url = "";

  constructor(private readonly symbols: number) {
    this.seqs = new Array(symbols).fill(0);
    this.published = new Array(symbols).fill(0);
  }

  async bind(): Promise<string> {
    await this.socket.bind("tcp://127.0.0.1:*");
    this.url = this.socket.lastEndpoint ?? "";
    return this.url;
  }

  private next = 0;
  private publishOne(): Promise<void> {
    const i = this.next;
    this.next = (this.next + 1) % this.symbols;
    const seq = this.seqs[i]!;
    this.seqs[i] = seq + 1;
    if (seq >= MEASURED_SEQ_BASE) this.published[i]! += 1;
    const symbol = symbolName(i);
    const tick: UnderlyingTick = {
      kind: "underlying",
      seq,
      ts: new Date().toISOString(),
      symbol,
      name: `BENCH${symbol}`,
      last: 5.9,
      bid: 5.899,
      ask: 5.901,
      volume: seq % 1_000_000,
      change: 0.001,
    };
    return this.socket.send([`market.${symbol}`, dumps(tick)]);
  }

  /** Steady rate in 5 ms slices: per slice, send what the elapsed time says is due. */
  run(eventsPerSecond: number): void {
    this.stop();
    const started = performance.now();
    let sent = 0;
    this.timer = setInterval(() => {
      const due = Math.floor(((performance.now() - started) / 1000) * eventsPerSecond) - sent;
      if (due <= 0) return;
      sent += due;
      this.sending = this.sending.then(async () => {
        for (let k = 0; k < due; k++) await this.publishOne();
      });
    }, 5);
  }

  /** From now on, sequences count as measured. */
  enterMeasuredPhase(): void {
    this.seqs.fill(MEASURED_SEQ_BASE);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  async close(): Promise<void> {
    this.stop();
    await this.sending;
    this.socket.close();
  }
}

/** Ticks the gateway's SUB socket did not hand out: a newer one of the same symbol came in the same turn. */
const SUPERSEDED = 'gateway_pubsub_events_total{result="superseded"}';

/**
 * Sums each named counter over its label sets in the gateway's Prometheus text (a labelled
 * counter never incremented has no line: 0); a name written `counter{label="value"}` sums
 * only the lines with that label.
 */
async function scrapeMetrics(url: string, names: readonly string[]): Promise<Record<string, number>> {
  // An overloaded gateway may not answer in time: then the figures are unknown (NaN), not 0.
  const text = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) })
    .then((r) => r.text())
    .catch(() => "");
  const out: Record<string, number> = Object.fromEntries(names.map((n) => [n, text ? 0 : Number.NaN]));
  for (const line of text.split("\n")) {
    const name = names.find((n) => {
      const [counter, label] = n.split("{") as [string, string | undefined];
      if (label !== undefined) return line.startsWith(`${counter}{`) && line.includes(label.slice(0, -1));
      return line.startsWith(`${counter} `) || line.startsWith(`${counter}{`);
    });
    if (name) out[name] = (out[name] ?? 0) + Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return out;
}

/**
 * BENCH_CPU_PROF_DIR=dir: the gateway child runs under `--cpu-prof` and writes a
 * .cpuprofile there when it closes (open it in Chrome DevTools or speedscope).
 */
const cpuProfileDir = process.env.BENCH_CPU_PROF_DIR;

async function startGatewayProcess(brokerUrl: string, pubUrl: string) {
  if (!cpuProfileDir) return startServiceProcess({ type: "start", kind: "gateway", brokerUrl, pubUrl });
  // startServiceProcess forks with process.execArgv (NODE_OPTIONS may not carry --cpu-prof):
  // add the flags for this one fork only.
  const saved = [...process.execArgv];
  process.execArgv.push("--cpu-prof", `--cpu-prof-dir=${cpuProfileDir}`);
  try {
    return await startServiceProcess({ type: "start", kind: "gateway", brokerUrl, pubUrl });
  } finally {
    process.execArgv.splice(0, process.execArgv.length, ...saved);
  }
}

interface Child {
  process: ChildProcess;
  received: number;
  ready: boolean;
  readyCount: number;
  errors: number;
  report?: Extract<FromChild, { type: "report" }>;
}

function spawnChild(): Child {
  const file = siblingScript("fanout-subscriber");
  const execArgv = cpuProfileDir
    ? [...process.execArgv, "--cpu-prof", `--cpu-prof-dir=${cpuProfileDir}`]
    : process.execArgv;
  const child: Child = {
    process: fork(file, { execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"] }),
    received: 0,
    ready: false,
    readyCount: 0,
    errors: 0,
  };
  child.process.on("message", (m: FromChild) => {
    if (m.type === "ready") child.ready = true;
    else if (m.type === "progress") {
      child.received = m.received;
      child.readyCount = m.ready;
      child.errors = m.errors;
    } else if (m.type === "report") child.report = m;
  });
  return child;
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`fan-out: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function runFanout(s: FanoutScenario, log: (line: string) => void): Promise<Row[]> {
  const backend = await startServiceProcess({ type: "start", kind: "backend" });
  const publisher = new TickPublisher(s.symbols);
  const pubUrl = await publisher.bind();
  const gateway = await startGatewayProcess(backend.url, pubUrl);
  const children = Array.from({ length: settings.fanout.subscriberProcesses }, spawnChild);
  try {
    const { token } = await login(gateway.url, benchLogin.username, benchLogin.password);
    const subscriptionsOf = (k: number) =>
      Array.from({ length: s.subscribers }, (_, i) => i)
        .filter((i) => i % children.length === k)
        .map((i) => Array.from({ length: s.symbolsPerSubscriber }, (_, j) => symbolName((i + j) % s.symbols)));
    children.forEach((c, k) => {
      c.process.send({
        type: "start",
        url: gateway.url,
        token,
        subscriptions: subscriptionsOf(k),
        transport: s.transport,
      } satisfies ToChild);
    });

    // Warm-up: a few ticks per symbol per second, enough for every subscriber to see one.
    log(`fanout ${s.name}: connecting ${s.subscribers} subscribers`);
    publisher.run(s.symbols * 5);
    const readyDeadline = Date.now() + 60_000;
    while (!children.every((c) => c.ready)) {
      if (Date.now() > readyDeadline) {
        const status = children.map((c) => `${c.readyCount} ready, ${c.errors} errors`).join("; ");
        throw new Error(`fan-out: not every subscriber got a first tick within 60 s (${status})`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }

    log(`fanout ${s.name}: publishing ${s.eventsPerSecond}/s for ${s.measureMs} ms`);
    publisher.enterMeasuredPhase();
    const measureStart = Date.now();
    const gatewayCpuBefore = await gateway.cpuMs();
    const publisherCpuBefore = process.cpuUsage();
    const deadline = measureStart + s.measureMs + settings.fanout.drainMs;
    // Staleness from 0.5 s in (every subscriber has had a measured tick) to the end of publishing.
    const staleness = { from: measureStart + 500, until: measureStart + s.measureMs };
    for (const c of children) c.process.send({ type: "report", deadline, staleness } satisfies ToChild);
    publisher.run(s.eventsPerSecond);
    await new Promise((r) => setTimeout(r, s.measureMs));
    publisher.stop();
    const publishEnd = Date.now();

    // Drain: late events count as late, not lost, until deliveries stop growing or the deadline.
    let last = -1;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      const now = children.reduce((n, c) => n + c.received, 0);
      if (now === last) break;
      last = now;
    }
    const gatewayCpuMs = (await gateway.cpuMs()) - gatewayCpuBefore;
    const publisherCpu = process.cpuUsage(publisherCpuBefore);
    const gatewayMetrics = await scrapeMetrics(gateway.url, [
      "gateway_pubsub_dropped_total",
      "gateway_ws_slow_clients_closed_total",
      "gateway_pubsub_conflated_total",
      SUPERSEDED,
    ]);
    for (const c of children) c.process.send({ type: "report" } satisfies ToChild);
    await until(
      () => children.every((c) => c.report),
      Math.max(0, deadline - Date.now()) + 15_000,
      "subscriber reports",
    );

    const publishedPerSymbol = publisher.published;
    const published = publishedPerSymbol.reduce((a, b) => a + b, 0);
    const histogram = new Histogram();
    const stalenessHistogram = new Histogram();
    let delivered = 0;
    let expected = 0;
    let duplicates = 0;
    let errors = 0;
    let reconnects = 0;
    let lastReceiptAt = publishEnd;
    children.forEach((c, k) => {
      const r = c.report!;
      histogram.merge(r.histogram);
      stalenessHistogram.merge(r.staleness);
      duplicates += r.duplicates;
      errors += r.errors;
      reconnects += r.reconnects;
      lastReceiptAt = Math.max(lastReceiptAt, r.lastReceiptAt);
      subscriptionsOf(k).forEach((symbols, i) => {
        const want = symbols.reduce((n, sym) => n + (publishedPerSymbol[Number(sym) - 510000] ?? 0), 0);
        expected += want;
        delivered += Math.min(want, r.received[i] ?? 0);
      });
    });
    // Not delivered = dropped by the gateway (slow-client queues) + still in flight when the drain window ended.
    const dropped = expected - delivered;
    const droppedByGateway = gatewayMetrics.gateway_pubsub_dropped_total ?? Number.NaN;
    const seconds = (lastReceiptAt - measureStart) / 1000;
    const deliveredPerSec = delivered / seconds;
    const p50 = histogram.percentile(50);
    const p99 = histogram.percentile(99);
    const offered = expected / (s.measureMs / 1000);
    const stalenessP50 = stalenessHistogram.percentile(50);
    const stalenessP99 = stalenessHistogram.percentile(99);
    const extra = {
      subscribers: s.subscribers,
      stalenessP50Ms: stalenessP50,
      stalenessP99Ms: stalenessP99,
      transport: s.transport,
      publishedPerSec: Math.round(published / (s.measureMs / 1000)),
      offeredDeliveriesPerSec: Math.round(offered),
      expected,
      delivered,
      dropped,
      droppedByGateway,
      conflatedByGateway: gatewayMetrics.gateway_pubsub_conflated_total ?? Number.NaN,
      supersededByGateway: gatewayMetrics[SUPERSEDED] ?? Number.NaN,
      slowClientsClosed: gatewayMetrics.gateway_ws_slow_clients_closed_total ?? Number.NaN,
      duplicates,
      errors,
      reconnects,
      drainSeconds: Number(((lastReceiptAt - publishEnd) / 1000).toFixed(2)),
      // CPU seconds used while measuring, to see which process was the bottleneck
      // (subscribers: whole-life figure, including connecting).
      cpuSecondsGateway: Number((gatewayCpuMs / 1000).toFixed(1)),
      cpuSecondsPublisherProcess: Number(((publisherCpu.user + publisherCpu.system) / 1e6).toFixed(1)),
      cpuSecondsSubscribers: children
        .map((c) => Number(((c.report?.cpuMs ?? Number.NaN) / 1000).toFixed(1)))
        .join(" + "),
      wallSeconds: Number(((lastReceiptAt - measureStart) / 1000).toFixed(1)),
    };
    log(`fanout ${s.name}: ${JSON.stringify(extra)}`);
    const t = s.targets ?? {};
    const ratio = deliveredPerSec / offered;
    const deliveryTargets = [
      t.deliveredRatio === undefined ? undefined : `>= ${t.deliveredRatio}x offered`,
      t.p99Ms === undefined ? undefined : `p99 < ${t.p99Ms} ms`,
    ].filter((x) => x !== undefined);
    const rows: Row[] = [
      {
        group: "fanout",
        name: `${s.name}: delivered/s`,
        value: deliveredPerSec,
        unit: "events/s",
        p50Ms: p50,
        p99Ms: p99,
        baseline: "offered (published x subscribers)",
        ratio,
        ...(deliveryTargets.length > 0
          ? {
              target: deliveryTargets.join(", "),
              pass:
                (t.deliveredRatio === undefined || ratio >= t.deliveredRatio) &&
                (t.p99Ms === undefined || p99 < t.p99Ms),
            }
          : {}),
        extra,
      },
    ];
    if (t.stalenessP99Ms !== undefined) {
      // Conflation's figure: not how many ticks arrived, but how old the price a subscriber holds is.
      rows.push({
        group: "fanout",
        name: `${s.name}: staleness (age of newest tick held)`,
        value: stalenessP99,
        unit: "ms p99",
        p50Ms: stalenessP50,
        p99Ms: stalenessP99,
        target: `p99 < ${t.stalenessP99Ms} ms`,
        pass: stalenessP99 < t.stalenessP99Ms,
        extra: {
          samples: stalenessHistogram.count,
          conflatedByGateway: extra.conflatedByGateway,
          supersededByGateway: extra.supersededByGateway,
        },
      });
    } else {
      rows.push({
        group: "fanout",
        name: `${s.name}: not delivered`,
        value: dropped,
        unit: "events",
        baseline: `of ${expected.toLocaleString("en-US")} expected`,
        ratio: expected > 0 ? dropped / expected : 0,
        ...(t.noDrops ? { target: "no drops", pass: dropped === 0 } : {}),
        extra: { droppedByGateway, inFlightAtDrainEnd: dropped - droppedByGateway },
      });
    }
    return rows;
  } finally {
    // The subscribers have reported; killing them is quicker than closing 1,000 backlogged sockets.
    // (A profiled child exits by itself when the IPC channel closes, writing its profile.)
    for (const c of children) {
      if (cpuProfileDir && c.process.connected) c.process.disconnect();
      else c.process.kill("SIGKILL");
    }
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.process.exitCode !== null) return resolve();
            c.process.once("exit", () => resolve());
          }),
      ),
    );
    log(`fanout ${s.name}: subscribers stopped, closing`);
    await publisher.close();
    // A profiled gateway must exit on its own to write its profile (it has no backlog then: the subscribers are gone).
    await (cpuProfileDir ? gateway.close() : gateway.kill());
    await backend.close();
    log(`fanout ${s.name}: closed`);
  }
}

/**
 * BENCH_FANOUT picks rows by name ("desk", "desk-socketio", "watchlist", "firehose", comma-separated; default all), so
 * the target row can be measured alone and repeatedly while tuning.
 */
const fanoutRows = (process.env.BENCH_FANOUT ?? "desk,desk-socketio,watchlist,firehose")
  .split(",")
  .map((r) => r.trim());

export async function benchFanout(log: (line: string) => void): Promise<Row[]> {
  const f = settings.fanout;
  const rows: Row[] = [];
  if (fanoutRows.includes("desk")) {
    // THE target: a desk's watch-list shape. 100 symbols share the 2,000 ticks/s, each
    // subscriber follows one, so the gateway offers 20 ticks/s per client, 20,000 deliveries/s.
    rows.push(
      ...(await runFanout(
        {
          name: `${f.subscribers} subs x 1 of 100 symbols @ ${f.eventsPerSecond}/s`,
          subscribers: f.subscribers,
          eventsPerSecond: f.eventsPerSecond,
          symbols: 100,
          symbolsPerSubscriber: 1,
          measureMs: f.measureMs,
          targets: { p99Ms: 100, noDrops: true },
          transport: "trpc",
        },
        log,
      )),
    );
  }
  if (fanoutRows.includes("desk-socketio")) {
    // The same load over the source document's socket.io events (market:subscribe ->
    // market:tick), through the same stream layer: the transport's own cost, side by side.
    rows.push(
      ...(await runFanout(
        {
          name: `${f.subscribers} subs x 1 of 100 symbols @ ${f.eventsPerSecond}/s over socket.io`,
          subscribers: f.subscribers,
          eventsPerSecond: f.eventsPerSecond,
          symbols: 100,
          symbolsPerSubscriber: 1,
          measureMs: f.measureMs,
          transport: "socket.io",
        },
        log,
      )),
    );
  }
  if (fanoutRows.includes("watchlist")) {
    // A wider watch-list: 500 symbols share 5,000 ticks/s, each subscriber follows 5 of them
    // (50 ticks/s each, 50,000 deliveries/s offered).
    rows.push(
      ...(await runFanout(
        {
          name: `${f.subscribers} subs x 5 of 500 symbols @ 5,000/s`,
          subscribers: f.subscribers,
          eventsPerSecond: 5_000,
          symbols: 500,
          symbolsPerSubscriber: 5,
          measureMs: f.measureMs,
          targets: { deliveredRatio: 0.95, p99Ms: 100 },
          transport: "trpc",
        },
        log,
      )),
    );
  }
  if (fanoutRows.includes("firehose")) {
    // Every subscriber follows the one symbol, 2,000 x 1,000 = 2,000,000 deliveries/s offered,
    // more than 1,000 Node clients on 2 cores can even JSON.parse: ticks conflate per symbol,
    // so the figure is staleness (how old the price each subscriber holds is), not drops.
    rows.push(
      ...(await runFanout(
        {
          name: `${f.subscribers} subs x 1 symbol @ ${f.eventsPerSecond}/s (firehose)`,
          subscribers: f.subscribers,
          eventsPerSecond: f.eventsPerSecond,
          symbols: 1,
          symbolsPerSubscriber: 1,
          measureMs: f.measureMs,
          targets: { stalenessP99Ms: 250 },
          transport: "trpc",
        },
        log,
      )),
    );
  }
  return rows;
}

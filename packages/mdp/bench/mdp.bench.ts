/**
 * MDP throughput and latency against the raw zeromq.js ceiling, from one run.
 *
 *   pnpm --filter @desk/mdp bench            (~2.5 s per case)
 *   BENCH_QUICK=1 pnpm --filter @desk/mdp bench   (~0.5 s per case)
 *   pnpm --filter @desk/mdp bench brokers    (only our broker against the Python one)
 *
 * Every case is closed-loop: `concurrency` lanes each send a request, wait
 * for its reply, and send the next. The client always runs in this process;
 * the server side runs per BENCH_LAYOUT:
 *   split (default)  echo server | broker + worker in one child process
 *                    (the mock-broker's shape: a gateway talking to a backend process)
 *   processes        broker and worker in two child processes (production's shape)
 *   single           everything in this process
 * Last, the brokers compared: our client (here) and our worker (a child, 16 sockets)
 * with our broker, then with python-scripts/zguide_broker.py (the zguide's pure-Python
 * broker's semantics, pyzmq), each broker in its own process; skipped, and said so,
 * without a Python that has pyzmq.
 * The functions are exported for the workspace bench tool (tools/bench).
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { findPython } from "@desk/testkit";
import { Dealer, Router } from "zeromq";
import { type CurveKeyPair, MdpBroker, MdpClient, MdpWorker, generateCurveKeyPair } from "../src/index.js";

export interface BenchCase {
  name: string;
  concurrency: number;
  requests: number;
  seconds: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

export interface BenchOptions {
  /** Lanes in flight at once. */
  concurrency: number;
  durationMs?: number;
  payloadBytes?: number;
  /**
   * "split" (default): the server side (echo server, or broker + worker) in one child process;
   * "processes": broker and worker in two child processes (raw echo as in split);
   * "single": everything in this process.
   */
  layout?: "split" | "processes" | "single";
  /** RFC 7 worker sockets serving MDP requests (default min(16, concurrency)). */
  workerSessions?: number;
  /** Send as reads (default) or as writes (at most once: each send tracked by a receipt). */
  idempotent?: boolean;
  /** CURVE on every MDP connection (client, workers; the broker's ZAP allow-lists). Not with "processes". */
  curve?: boolean;
}

/** Issue 16's targets for these rows; tools/bench prints the same ones. */
export const MDP_TARGETS = {
  /** MDP echo req/s at least this times raw echo's, at this concurrency. */
  mdpOverRaw: { concurrency: 64, atLeast: 0.4 },
  /** Our broker's req/s at least this times the zguide Python broker's under the same load. */
  oursOverPython: { concurrency: 64, atLeast: 2 },
} as const;

export interface MdpBenchResults {
  raw: BenchCase[];
  mdp: BenchCase[];
  /** MDP req/s divided by raw req/s at the same concurrency. */
  ratios: Array<{ concurrency: number; ratio: number }>;
  /** The same MDP cases with CURVE on every connection. */
  curve: BenchCase[];
  /** MDP with CURVE req/s divided by MDP without, at the same concurrency. */
  curveRatios: Array<{ concurrency: number; ratio: number }>;
  /** Our broker against the zguide Python broker, same client and worker (processes layout). */
  brokers?: BrokerComparison;
}

/** The keys of one CURVE bench run: the child process gets them in BENCH_CURVE_KEYS. */
interface BenchKeys {
  broker: CurveKeyPair;
  client: CurveKeyPair;
  worker: CurveKeyPair;
}

function benchKeys(): BenchKeys {
  return { broker: generateCurveKeyPair(), client: generateCurveKeyPair(), worker: generateCurveKeyPair() };
}

const quick = process.env.BENCH_QUICK === "1";
const defaultDuration = quick ? 500 : 2500;

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** Runs `call` in closed-loop lanes for the duration (after a short warm-up); `window` marks the measured span. */
async function measure(
  name: string,
  o: BenchOptions,
  call: () => Promise<unknown>,
  window?: { start(): void; end(): void },
): Promise<BenchCase> {
  const durationMs = o.durationMs ?? defaultDuration;
  const warmUntil = performance.now() + Math.min(300, durationMs / 4);
  await Promise.all(
    Array.from({ length: o.concurrency }, async () => {
      while (performance.now() < warmUntil) await call();
    }),
  );
  let latencies = new Float64Array(1 << 16);
  let n = 0;
  window?.start();
  const start = performance.now();
  const end = start + durationMs;
  await Promise.all(
    Array.from({ length: o.concurrency }, async () => {
      for (;;) {
        const t0 = performance.now();
        if (t0 >= end) return;
        await call();
        if (n === latencies.length) {
          const grown = new Float64Array(n * 2);
          grown.set(latencies);
          latencies = grown;
        }
        latencies[n++] = performance.now() - t0;
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  window?.end();
  const sorted = latencies.subarray(0, n).sort();
  return {
    name,
    concurrency: o.concurrency,
    requests: n,
    seconds,
    reqPerSec: n / seconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
  };
}

interface Backend {
  endpoint: string;
  /** The process serving it, when it is a child of this one. */
  pid?: number;
  close(): Promise<void>;
}

/** The raw ceiling's server: a ROUTER echoing every message back. */
async function startEchoServer(): Promise<Backend> {
  const server = new Router({ linger: 0 });
  await server.bind("tcp://127.0.0.1:*");
  const serving = (async () => {
    try {
      for (;;) await server.send(await server.receive());
    } catch {
      // closed
    }
  })();
  return {
    endpoint: server.lastEndpoint as string,
    close: async () => {
      server.close();
      await serving;
    },
  };
}

/** The MDP side of the system: a broker and an echo worker with `sessions` RFC 7 sockets (CURVE with `keys`). */
async function startMdpBackend(sessions: number, keys?: BenchKeys): Promise<Backend> {
  const broker = new MdpBroker(
    keys === undefined
      ? {}
      : {
          curve: {
            secretKey: keys.broker.secretKey,
            clients: [keys.client.publicKey],
            workers: { "bench.echo": [keys.worker.publicKey] },
          },
        },
  );
  const endpoint = await broker.bind("tcp://127.0.0.1:*");
  const workerEndpoint = keys === undefined ? endpoint : await broker.bindWorkers("bench.echo", "tcp://127.0.0.1:*");
  const worker = new MdpWorker({
    endpoint: workerEndpoint,
    service: "bench.echo",
    handler: (p) => p,
    concurrency: sessions,
    ...(keys === undefined ? {} : { curve: { ...keys.worker, serverKey: keys.broker.publicKey } }),
  });
  await worker.start();
  return {
    endpoint,
    close: async () => {
      await worker.close();
      await broker.close();
    },
  };
}

/**
 * Runs the server side in a child process (this same file with --serve), the
 * way a gateway talks to a separate broker/backend process.
 */
async function startInChild(
  kind: "raw" | "mdp" | "broker" | "worker",
  sessions: number,
  endpoint = "",
  keys?: BenchKeys,
): Promise<Backend> {
  const child = spawn(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), "--serve", kind, String(sessions), endpoint],
    {
      stdio: ["pipe", "pipe", "inherit"],
      env: keys === undefined ? process.env : { ...process.env, BENCH_CURVE_KEYS: JSON.stringify(keys) },
    },
  );
  const bound = await new Promise<string>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`bench server exited (${code})`)));
    child.stdout.once("data", (d: Buffer) => resolve(d.toString().trim()));
  });
  return {
    endpoint: bound,
    pid: child.pid,
    close: async () => {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

async function startBackend(kind: "raw" | "mdp", o: BenchOptions, keys?: BenchKeys): Promise<Backend> {
  const sessions = o.workerSessions ?? Math.min(16, o.concurrency);
  const layout = o.layout ?? "split";
  if (keys !== undefined && layout === "processes")
    throw new Error("the CURVE bench runs in the split or single layout");
  if (layout === "processes" && kind === "mdp") {
    const broker = await startInChild("broker", sessions);
    const worker = await startInChild("worker", sessions, broker.endpoint);
    return {
      endpoint: broker.endpoint,
      close: async () => {
        await worker.close();
        await broker.close();
      },
    };
  }
  if (layout !== "single") return startInChild(kind, sessions, "", keys);
  return kind === "raw" ? startEchoServer() : startMdpBackend(sessions, keys);
}

/** The ceiling: a DEALER client correlating by id and a ROUTER echoing every message back. */
export async function benchRawEcho(o: BenchOptions): Promise<BenchCase> {
  const backend = await startBackend("raw", o);
  const endpoint = backend.endpoint;
  const client = new Dealer({ linger: 0 });
  client.connect(endpoint);
  const waiting = new Map<string, () => void>();
  const reading = (async () => {
    try {
      for (;;) {
        const [id] = await client.receive();
        const key = (id as Buffer).toString();
        waiting.get(key)?.();
        waiting.delete(key);
      }
    } catch {
      // closed
    }
  })();
  // Same single-pending-send discipline as the MDP sockets.
  let sending: Promise<void> = Promise.resolve();
  const payload = Buffer.alloc(o.payloadBytes ?? 64, 1);
  let counter = 0;
  const call = (): Promise<void> =>
    new Promise<void>((resolve) => {
      const id = String(++counter);
      waiting.set(id, resolve);
      sending = sending.then(() => client.send([id, payload]));
    });
  try {
    return await measure("raw zeromq DEALER/ROUTER echo", o, call);
  } finally {
    client.close();
    await reading;
    await backend.close();
  }
}

/** MdpClient -> MdpBroker -> MdpWorker (echo handler), all over tcp on 127.0.0.1. */
export async function benchMdp(o: BenchOptions): Promise<BenchCase> {
  const keys = o.curve === true ? benchKeys() : undefined;
  const backend = await startBackend("mdp", o, keys);
  const idempotent = o.idempotent ?? true;
  const name = `MDP client->broker->worker${idempotent ? "" : " (writes)"}${keys === undefined ? "" : " CURVE"}`;
  try {
    return await measureMdpClient(name, o, backend.endpoint, keys);
  } finally {
    await backend.close();
  }
}

/** Our MdpClient sending echo requests to `endpoint` in closed-loop lanes. */
async function measureMdpClient(
  name: string,
  o: BenchOptions,
  endpoint: string,
  keys?: BenchKeys,
  window?: { start(): void; end(): void },
): Promise<BenchCase> {
  const client = new MdpClient({
    endpoints: endpoint,
    timeout: 10_000,
    retries: 1,
    ...(keys === undefined ? {} : { curve: { ...keys.client, serverKey: keys.broker.publicKey } }),
  });
  const payload = Buffer.alloc(o.payloadBytes ?? 64, 1);
  try {
    // Wait until a worker session is registered (the warm-up lets the others in).
    for (let i = 0; i < 200 && (await client.mmi("bench.echo")) !== "200"; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const idempotent = o.idempotent ?? true;
    return await measure(name, o, () => client.request("bench.echo", payload, { idempotent }), window);
  } finally {
    await client.close();
  }
}

// ---- our broker against the zguide's Python broker ----------------------------

export type BrokerKind = "ours" | "zguide-python";

export interface BrokerCase extends BenchCase {
  broker: BrokerKind;
  /**
   * CPU (user + system, all its threads) the broker's process spent per request over the
   * measured window, in µs; NaN where /proc/<pid>/stat cannot be read (not Linux).
   */
  brokerCpuUsPerRequest: number;
}

export interface BrokerComparison {
  concurrency: number;
  ours: BrokerCase;
  /** Absent when skipped (no Python with pyzmq). */
  python?: BrokerCase;
  /** Why the Python broker did not run, e.g. "pyzmq absent (...)". */
  skipped?: string;
  /** Our req/s divided by the Python broker's. */
  ratio?: number;
}

const zguideBroker = fileURLToPath(new URL("../../../python-scripts/zguide_broker.py", import.meta.url));

/** CPU time (user + system, all threads) of a process so far, in ms; NaN if /proc cannot say. */
function processCpuMs(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    // Fields after the command (which may hold spaces) start at the last ")"; utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // USER_HZ is 100 on every Linux architecture Node supports.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return Number.NaN;
  }
}

/**
 * The endpoint of the first complete "ready <endpoint>" line of a peer's output so far.
 * Complete lines only: under -u Python writes "ready", " " and the endpoint separately.
 */
export function readyEndpoint(output: string): string | undefined {
  const line = output
    .split("\n")
    .slice(0, -1)
    .find((l) => l.startsWith("ready "));
  return line?.slice("ready ".length).trim();
}

/** python-scripts/zguide_broker.py (the zguide's Python broker's semantics) in its own process. */
async function startPythonBroker(python: string): Promise<Backend> {
  const child = spawn(python, ["-u", zguideBroker, "tcp://127.0.0.1:*"], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise((r) => child.once("exit", r));
  const endpoint = await new Promise<string>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`zguide_broker.py exited (${code}) before it was ready`)));
    // A broker that never says ready must not outlive the bench.
    const late = setTimeout(() => child.kill("SIGKILL"), 15_000);
    child.once("exit", () => clearTimeout(late));
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const bound = readyEndpoint(out);
      if (bound === undefined) return;
      clearTimeout(late);
      resolve(bound);
    });
  });
  return {
    endpoint,
    pid: child.pid,
    close: async () => {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/**
 * One broker routing the echo load of our client (this process) to our worker (a child
 * with `workerSessions` RFC 7 sockets): the broker is the only thing that differs.
 */
export async function benchBroker(kind: BrokerKind, o: BenchOptions & { python?: string }): Promise<BrokerCase> {
  const sessions = o.workerSessions ?? Math.min(16, o.concurrency);
  if (kind === "zguide-python" && o.python === undefined) throw new Error("benchBroker: zguide-python needs o.python");
  const broker = kind === "ours" ? await startInChild("broker", sessions) : await startPythonBroker(o.python as string);
  let worker: Backend | undefined;
  try {
    worker = await startInChild("worker", sessions, broker.endpoint);
    let cpuAtStart = Number.NaN;
    let cpuMs = Number.NaN;
    const result = await measureMdpClient(
      kind === "ours" ? "MDP echo through our broker" : "MDP echo through zguide Python broker",
      o,
      broker.endpoint,
      undefined,
      {
        start: () => {
          cpuAtStart = processCpuMs(broker.pid);
        },
        end: () => {
          cpuMs = processCpuMs(broker.pid) - cpuAtStart;
        },
      },
    );
    return { ...result, broker: kind, brokerCpuUsPerRequest: (cpuMs * 1000) / result.requests };
  } finally {
    await worker?.close();
    await broker.close();
  }
}

/** The Python interpreter that has pyzmq (PYTHON_PATH, python3, /usr/bin/python3), or why there is none. */
export function pythonWithPyzmq(): { python?: string; skipped?: string } {
  const { python, reason } = findPython(["zmq"]);
  return python !== undefined ? { python } : { skipped: `pyzmq absent (${reason})` };
}

/** Our broker, then the zguide's Python broker, under the same load; the Python half is skipped without pyzmq. */
export async function benchBrokers(o: BenchOptions): Promise<BrokerComparison> {
  const ours = await benchBroker("ours", o);
  const { python, skipped } = pythonWithPyzmq();
  if (python === undefined) return { concurrency: o.concurrency, ours, skipped };
  const py = await benchBroker("zguide-python", { ...o, python });
  return { concurrency: o.concurrency, ours, python: py, ratio: ours.reqPerSec / py.reqPerSec };
}

/** The whole comparison, at each concurrency (default 1 and 64), then the brokers at the target's concurrency. */
export async function benchAll(
  o: { concurrencies?: number[]; durationMs?: number; layout?: BenchOptions["layout"] } = {},
): Promise<MdpBenchResults> {
  const results: MdpBenchResults = { raw: [], mdp: [], ratios: [], curve: [], curveRatios: [] };
  const layout = o.layout ?? layoutFromEnv();
  for (const concurrency of o.concurrencies ?? [1, MDP_TARGETS.mdpOverRaw.concurrency]) {
    const raw = await benchRawEcho({ concurrency, durationMs: o.durationMs, layout });
    const mdp = await benchMdp({ concurrency, durationMs: o.durationMs, layout });
    results.raw.push(raw);
    results.mdp.push(mdp);
    results.ratios.push({ concurrency, ratio: mdp.reqPerSec / raw.reqPerSec });
    if (layout !== "processes") {
      const curve = await benchMdp({ concurrency, durationMs: o.durationMs, layout, curve: true });
      results.curve.push(curve);
      results.curveRatios.push({ concurrency, ratio: curve.reqPerSec / mdp.reqPerSec });
    }
  }
  results.brokers = await benchBrokers({
    concurrency: MDP_TARGETS.oursOverPython.concurrency,
    durationMs: o.durationMs,
  });
  return results;
}

/** "target >= 0.40: pass" or "... MISS". */
export function verdict(ratio: number, atLeast: number): string {
  return `target >= ${atLeast.toFixed(2)}: ${ratio >= atLeast ? "pass" : "MISS"}`;
}

function layoutFromEnv(): BenchOptions["layout"] {
  const v = process.env.BENCH_LAYOUT;
  if (v === undefined || v === "") return "split";
  if (v === "split" || v === "processes" || v === "single") return v;
  throw new Error(`BENCH_LAYOUT must be split, processes or single, got ${JSON.stringify(v)}`);
}

export function formatResults(r: MdpBenchResults): string {
  const row = (c: BenchCase): string =>
    `${c.name.padEnd(38)} c=${String(c.concurrency).padStart(3)}  ${c.reqPerSec.toFixed(0).padStart(7)} req/s  p50 ${c.p50Ms.toFixed(3)} ms  p99 ${c.p99Ms.toFixed(3)} ms  (${c.requests} req in ${c.seconds.toFixed(2)} s)`;
  const b = r.brokers;
  const brokerCases = b === undefined ? [] : b.python === undefined ? [b.ours] : [b.ours, b.python];
  const lines = [...r.raw.map(row), ...r.mdp.map(row), ...r.curve.map(row), ...brokerCases.map(row)];
  const target = MDP_TARGETS.mdpOverRaw;
  for (const { concurrency, ratio } of r.ratios) {
    const goal = concurrency === target.concurrency ? verdict(ratio, target.atLeast) : "no target";
    lines.push(`MDP/raw at concurrency ${concurrency}: ${ratio.toFixed(2)}  (${goal})`);
  }
  for (const { concurrency, ratio } of r.curveRatios)
    lines.push(`MDP with CURVE / without at concurrency ${concurrency}: ${ratio.toFixed(2)}  (no target)`);
  if (b !== undefined) {
    const label = `our broker / zguide Python broker at concurrency ${b.concurrency}`;
    if (b.python === undefined || b.ratio === undefined) lines.push(`${label}: skipped: ${b.skipped}`);
    else {
      lines.push(
        `${label}: ${b.ratio.toFixed(2)}  (${verdict(b.ratio, MDP_TARGETS.oursOverPython.atLeast)}); ` +
          `broker CPU per request: ours ${b.ours.brokerCpuUsPerRequest.toFixed(1)} µs, Python ${b.python.brokerCpuUsPerRequest.toFixed(1)} µs`,
      );
    }
  }
  return lines.join("\n");
}

async function startWorkerOnly(endpoint: string, sessions: number): Promise<Backend> {
  const worker = new MdpWorker({ endpoint, service: "bench.echo", handler: (p) => p, concurrency: sessions });
  await worker.start();
  return { endpoint, close: () => worker.close() };
}

async function startBrokerOnly(): Promise<Backend> {
  const broker = new MdpBroker();
  return { endpoint: await broker.bind("tcp://127.0.0.1:*"), close: () => broker.close() };
}

function keysFromEnv(): BenchKeys | undefined {
  const json = process.env.BENCH_CURVE_KEYS;
  return json === undefined || json === "" ? undefined : (JSON.parse(json) as BenchKeys);
}

async function serve(kind: string, sessions: number, endpoint: string): Promise<void> {
  const backend =
    kind === "raw"
      ? await startEchoServer()
      : kind === "broker"
        ? await startBrokerOnly()
        : kind === "worker"
          ? await startWorkerOnly(endpoint, sessions)
          : await startMdpBackend(sessions, keysFromEnv());
  process.stdout.write(`${backend.endpoint}\n`);
  process.once("SIGTERM", () => {
    void backend.close().then(() => process.exit(0));
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  if (process.argv[2] === "--serve") {
    await serve(process.argv[3] ?? "raw", Number(process.argv[4] ?? "16"), process.argv[5] ?? "");
  } else {
    const layout = layoutFromEnv();
    console.log(
      `@desk/mdp bench: layout ${layout}, ${quick ? "quick " : ""}${defaultDuration} ms per case, 64-byte payloads`,
    );
    const results: MdpBenchResults =
      process.argv[2] === "brokers"
        ? {
            raw: [],
            mdp: [],
            ratios: [],
            curve: [],
            curveRatios: [],
            brokers: await benchBrokers({ concurrency: MDP_TARGETS.oursOverPython.concurrency }),
          }
        : await benchAll({ layout });
    console.log(formatResults(results));
  }
}

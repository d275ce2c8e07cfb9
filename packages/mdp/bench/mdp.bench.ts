/**
 * MDP throughput and latency against the raw zeromq.js ceiling, from one run.
 *
 *   pnpm --filter @desk/mdp bench            (~2.5 s per case)
 *   BENCH_QUICK=1 pnpm --filter @desk/mdp bench   (~0.5 s per case)
 *
 * Every case is closed-loop: `concurrency` lanes each send a request, wait
 * for its reply, and send the next. The client always runs in this process;
 * the server side runs per BENCH_LAYOUT:
 *   split (default)  echo server | broker + worker in one child process
 *                    (the mock-broker's shape: a gateway talking to a backend process)
 *   processes        broker and worker in two child processes (production's shape)
 *   single           everything in this process
 * The functions are exported for the workspace bench tool (tools/bench).
 */
import { spawn } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
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

export interface MdpBenchResults {
  raw: BenchCase[];
  mdp: BenchCase[];
  /** MDP req/s divided by raw req/s at the same concurrency. */
  ratios: Array<{ concurrency: number; ratio: number }>;
  /** The same MDP cases with CURVE on every connection. */
  curve: BenchCase[];
  /** MDP with CURVE req/s divided by MDP without, at the same concurrency. */
  curveRatios: Array<{ concurrency: number; ratio: number }>;
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

/** Runs `call` in closed-loop lanes for the duration (after a short warm-up). */
async function measure(name: string, o: BenchOptions, call: () => Promise<unknown>): Promise<BenchCase> {
  const durationMs = o.durationMs ?? defaultDuration;
  const warmUntil = performance.now() + Math.min(300, durationMs / 4);
  await Promise.all(
    Array.from({ length: o.concurrency }, async () => {
      while (performance.now() < warmUntil) await call();
    }),
  );
  let latencies = new Float64Array(1 << 16);
  let n = 0;
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
  const endpoint = backend.endpoint;
  const client = new MdpClient({
    endpoints: endpoint,
    timeout: 10_000,
    retries: 1,
    ...(keys === undefined ? {} : { curve: { ...keys.client, serverKey: keys.broker.publicKey } }),
  });
  const payload = Buffer.alloc(o.payloadBytes ?? 64, 1);
  try {
    // Wait until every worker session is registered so no request waits in the queue.
    for (let i = 0; i < 200 && (await client.mmi("bench.echo")) !== "200"; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const idempotent = o.idempotent ?? true;
    const name = `MDP client->broker->worker${idempotent ? "" : " (writes)"}${keys === undefined ? "" : " CURVE"}`;
    return await measure(name, o, () => client.request("bench.echo", payload, { idempotent }));
  } finally {
    await client.close();
    await backend.close();
  }
}

/** The whole comparison, at each concurrency (default 1 and 100). */
export async function benchAll(
  o: { concurrencies?: number[]; durationMs?: number; layout?: BenchOptions["layout"] } = {},
): Promise<MdpBenchResults> {
  const results: MdpBenchResults = { raw: [], mdp: [], ratios: [], curve: [], curveRatios: [] };
  const layout = o.layout ?? layoutFromEnv();
  for (const concurrency of o.concurrencies ?? [1, 100]) {
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
  return results;
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
  const lines = [...r.raw.map(row), ...r.mdp.map(row), ...r.curve.map(row)];
  for (const { concurrency, ratio } of r.ratios)
    lines.push(`MDP/raw at concurrency ${concurrency}: ${ratio.toFixed(2)}`);
  for (const { concurrency, ratio } of r.curveRatios)
    lines.push(`MDP with CURVE / without at concurrency ${concurrency}: ${ratio.toFixed(2)}`);
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
    const results = await benchAll({ layout });
    console.log(formatResults(results));
  }
}

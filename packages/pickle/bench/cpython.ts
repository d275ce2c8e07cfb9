/**
 * The native codec against CPython's own C pickle, on the same bytes, in the same run:
 * /usr/bin/python3 times pickle.loads and pickle.dumps with timeit; this process times
 * loads on the bytes CPython wrote, and dumps on the value loads returned. Both sides
 * count CPU time of their own process (timeit's timer=time.process_time, Node's
 * process.cpuUsage): on a machine shared with other jobs, wall time measures the
 * neighbours as much as the code. Each CPython figure is paired with Node's taken
 * right after it; the ratio is the median over the pairs.
 *
 * The Node side runs in a fresh process (see CpythonBenchOptions.isolated): a process
 * whose ArrayBuffers were ever detached runs all typed-array code slower, and the
 * workspace bench's own process is one of them (tsx's loader).
 */
import { execFileSync, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import { dumps } from "../src/dumps.js";
import { loads } from "../src/loads.js";

export interface CpythonRow {
  readonly op: "decode" | "encode";
  /** "reply", "positions-naive", "positions-zoneinfo" */
  readonly payload: string;
  /** what the payload is, for a table */
  readonly label: string;
  readonly bytes: number;
  readonly nativeOpsPerSec: number;
  readonly cpythonOpsPerSec: number;
  /** median over rounds of native / CPython (each round times CPython, then Node, on this cell) */
  readonly ratio: number;
  /** the ratio the issue asks for */
  readonly target: number;
  readonly pass: boolean;
}

export interface CpythonBenchOptions {
  python: string;
  rounds: number;
  /** Seconds per timing repeat (3 repeats per cell and round, on each side). */
  seconds: number;
  /**
   * Time the Node side in a child `node` process of its own (default true), plain
   * `node` when this module is built (as the gateway runs: `node dist/main.js`), with
   * this process's loader flags when it runs from source. Once any ArrayBuffer in a
   * process has been detached, V8 guards every typed-array access there for good: a
   * byte-writing loop runs ~1.5x slower. `pnpm bench` runs under tsx, whose loader
   * detaches one when it loads a CommonJS package such as zeromq; a plain `node`
   * importing the gateway, zeromq, ws and @desk/mdp does not. false: time in this process.
   */
  isolated?: boolean;
}

/**
 * The payloads, built in Python as a Python server builds them (literal keys: CPython
 * writes each once and BINGETs it after). "reply": get_positions for one account, four
 * positions (the typicalReply() of pickle.bench.ts). 2,000 positions: a dict per
 * position with symbol, direction, quantity, average price, Greeks and its last update;
 * with naive datetimes 204 KB at protocol 4 (the "205 KB reply"), with zoneinfo
 * Asia/Shanghai ones (vn.py's style) 208 KB. Deterministic.
 */
const PAYLOADS = `
import datetime, random, zoneinfo
def positions(n, tz):
    rnd = random.Random(20240611)
    opened = datetime.datetime(2024, 3, 1, 9, 30, tzinfo=tz)
    rows = []
    for i in range(n):
        rows.append({
            "symbol": "%d" % (10007000 + i),
            "direction": "long" if i % 3 else "short",
            "quantity": rnd.randrange(1, 5000),
            "avgPrice": round(rnd.uniform(0.01, 3), 4),
            "delta": rnd.uniform(-1, 1),
            "gamma": rnd.uniform(0, 5),
            "vega": rnd.uniform(0, 0.5),
            "theta": -rnd.uniform(0, 0.01),
            "updatedAt": opened + datetime.timedelta(seconds=rnd.randrange(0, 20000), microseconds=rnd.randrange(10**6)),
        })
    return [True, rows]
def position(symbol, direction, volume, price):
    return {"accountId": "account1", "symbol": symbol, "exchange": "SSE", "direction": direction,
            "volume": volume, "frozen": 0, "price": price,
            "pnl": round((price - 0.1) * volume * 10000) / 100, "ydVolume": volume}
values = {
    "reply": [True, [position("10007301", "long", 20, 0.1234), position("10007302", "short", 15, 0.0567),
                     position("510050", "long", 100000, 2.512), position("10007355", "long", 4, 0.3321)]],
    "positions-naive": positions(2000, None),
    "positions-zoneinfo": positions(2000, zoneinfo.ZoneInfo("Asia/Shanghai")),
}
`;

const BYTES_SCRIPT = `
import sys, pickle, struct
${PAYLOADS}
for name in values:
    data = pickle.dumps(values[name])
    sys.stdout.buffer.write(struct.pack(">I", len(data)) + data)
`;

/**
 * A CPython process that times one cell per request ("reply.decode 0.25\n" ->
 * ops/s, the median of 3 timeit repeats), so each of its figures can be paired with
 * Node's taken right after it.
 */
const TIME_SERVER = `
import sys, pickle, timeit, statistics, time
${PAYLOADS}
data = {name: pickle.dumps(v) for name, v in values.items()}
numbers = {}
for line in sys.stdin:
    cell, seconds = line.split()
    name, op = cell.split(".")
    stmt = "loads(data)" if op == "decode" else "dumps(value)"
    timer = timeit.Timer(stmt, timer=time.process_time,
                         globals={"loads": pickle.loads, "dumps": pickle.dumps, "data": data[name], "value": values[name]})
    if cell not in numbers:
        number, took = timer.autorange()
        numbers[cell] = max(1, int(number * float(seconds) / took))
    number = numbers[cell]
    print(number / statistics.median(timer.repeat(repeat=3, number=number)), flush=True)
`;

const PAYLOAD_LABELS: Record<string, string> = {
  reply: "reply",
  "positions-naive": "2,000 positions, naive datetimes",
  "positions-zoneinfo": "2,000 positions, zoneinfo datetimes",
};

/** The targets: decode >= 0.7x on the reply and 0.6x on the big reply, encode >= 1x on both. */
const TARGETS: Record<string, number> = {
  "reply.decode": 0.7,
  "positions-naive.decode": 0.6,
  "positions-zoneinfo.decode": 0.6,
  "reply.encode": 1,
  "positions-naive.encode": 1,
  "positions-zoneinfo.encode": 1,
};

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
}

/** ops per CPU-second of fn: warm up, calibrate a batch to ~`seconds`, median of 3 batches (as timeit repeats). */
function nodeOpsPerSec(seconds: number, fn: () => void): number {
  const warmUntil = performance.now() + Math.max(100, seconds * 500);
  let calls = 0;
  while (performance.now() < warmUntil || calls < 50) {
    fn();
    calls++;
  }
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) fn();
  const perCall = Math.max((performance.now() - t0) / 20, 1e-6);
  const number = Math.max(1, Math.round((seconds * 1000) / perCall));
  const rates: number[] = [];
  for (let r = 0; r < 3; r++) {
    const start = process.cpuUsage();
    for (let i = 0; i < number; i++) fn();
    rates.push(number / Math.max(cpuSeconds(start), 1e-6));
  }
  return median(rates);
}

/** The time server, asked one cell at a time. */
function timeServer(python: string): { time(cell: string, seconds: number): Promise<number>; close(): void } {
  const child = spawn(python, ["-c", TIME_SERVER], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout });
  const waiting: { resolve: (v: number) => void; reject: (e: Error) => void }[] = [];
  lines.on("line", (line) => {
    const next = waiting.shift();
    const v = Number(line);
    if (Number.isFinite(v)) next?.resolve(v);
    else next?.reject(new Error(`python: ${line}`));
  });
  child.on("exit", (code) => {
    for (const w of waiting.splice(0)) w.reject(new Error(`python exited with ${code}`));
  });
  return {
    time: (cell, seconds) =>
      new Promise((resolve, reject) => {
        waiting.push({ resolve, reject });
        child.stdin.write(`${cell} ${seconds}\n`);
      }),
    close: () => {
      child.stdin.end();
      child.kill();
    },
  };
}

export async function benchAgainstCpython(o: CpythonBenchOptions): Promise<CpythonRow[]> {
  return o.isolated === false ? measureAgainstCpython(o) : inChildProcess(o);
}

const CHILD_OPTIONS = "PICKLE_CPYTHON_BENCH_OPTIONS";

/** benchAgainstCpython in a child process running this module, which prints its rows as JSON. */
function inChildProcess(o: CpythonBenchOptions): Promise<CpythonRow[]> {
  const self = fileURLToPath(import.meta.url);
  const execArgv = self.endsWith(".js") ? [] : process.execArgv;
  const child = spawn(process.execPath, [...execArgv, self], {
    env: { ...process.env, [CHILD_OPTIONS]: JSON.stringify({ ...o, isolated: false }) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const out: Buffer[] = [];
  child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) {
        reject(new Error(`the CPython comparison's process exited with ${code}`));
        return;
      }
      try {
        resolve(JSON.parse(Buffer.concat(out).toString("utf8")) as CpythonRow[]);
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  });
}

async function measureAgainstCpython(o: CpythonBenchOptions): Promise<CpythonRow[]> {
  const framed = execFileSync(o.python, ["-c", BYTES_SCRIPT], { maxBuffer: 64 << 20 });
  const bytes = new Map<string, Buffer>();
  let pos = 0;
  for (const name of Object.keys(PAYLOAD_LABELS)) {
    const n = framed.readUInt32BE(pos);
    bytes.set(name, framed.subarray(pos + 4, pos + 4 + n));
    pos += 4 + n;
  }
  const cells = Object.keys(TARGETS);
  const native = new Map(cells.map((c) => [c, [] as number[]]));
  const cpython = new Map(cells.map((c) => [c, [] as number[]]));
  const ratios = new Map(cells.map((c) => [c, [] as number[]]));
  const server = timeServer(o.python);
  try {
    for (let round = 0; round < o.rounds; round++) {
      for (const cell of cells) {
        const [payload, op] = cell.split(".") as [string, string];
        const data = bytes.get(payload)!;
        const value = loads(data);
        const theirs = await server.time(cell, o.seconds);
        const ours = nodeOpsPerSec(o.seconds, op === "decode" ? () => loads(data) : () => dumps(value));
        native.get(cell)!.push(ours);
        cpython.get(cell)!.push(theirs);
        ratios.get(cell)!.push(ours / theirs);
      }
    }
  } finally {
    server.close();
  }
  return cells.map((cell) => {
    const [payload, op] = cell.split(".") as [string, "decode" | "encode"];
    const ratio = median(ratios.get(cell)!);
    return {
      op,
      payload,
      label: PAYLOAD_LABELS[payload]!,
      bytes: bytes.get(payload)!.length,
      nativeOpsPerSec: median(native.get(cell)!),
      cpythonOpsPerSec: median(cpython.get(cell)!),
      ratio,
      target: TARGETS[cell]!,
      pass: ratio >= TARGETS[cell]!,
    };
  });
}

const childOptions = process.env[CHILD_OPTIONS];
if (
  childOptions !== undefined &&
  process.argv[1] !== undefined &&
  import.meta.url === pathToFileURL(process.argv[1]).href
) {
  const rows = await measureAgainstCpython(JSON.parse(childOptions) as CpythonBenchOptions);
  process.stdout.write(JSON.stringify(rows));
}

/**
 * Pickle codec bench: the native codec against CPython's C pickle on the same bytes
 * (decode and encode of a typical reply and of 2,000 positions, see cpython.ts); then
 * encode+decode of the reply with the native codec, the long-lived Python helper and
 * one Python process per message (the source document's design); and decode against
 * the `pickleparser` package on CPython's bytes. BENCH_QUICK=1 shortens every phase.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { Parser } from "pickleparser";
import { repositoryHelperScript } from "../src/helper-script.js";
import { createPythonCodec, dumps, loads } from "../src/index.js";
import { type CpythonRow, benchAgainstCpython } from "./cpython.js";

export { type CpythonRow, benchAgainstCpython } from "./cpython.js";

export interface PickleBenchOptions {
  /** Shorter phases (BENCH_QUICK=1 sets it). */
  quick?: boolean;
  pythonPath?: string;
  scriptPath?: string;
  /** Requests in flight against the long-lived helper (the gateway pipelines too). */
  helperConcurrency?: number;
  log?: (line: string) => void;
}

export interface PickleBenchResult {
  replyBytes: number;
  nativeOpsPerSec: number; // encode+decode per second
  helperOpsPerSec: number;
  helperSerialOpsPerSec: number;
  oneShotOpsPerSec: number;
  nativeVsHelper: number;
  nativeVsOneShot: number;
  decodeNativeOpsPerSec: number;
  decodePickleparserOpsPerSec: number;
  nativeVsPickleparserDecode: number;
  /** native vs CPython's C pickle, same bytes, same run (empty when Python is unavailable) */
  cpython: CpythonRow[];
}

/** What get_positions answers: [True, [position, ...]]. */
export function typicalReply(): unknown {
  const position = (symbol: string, direction: string, volume: number, price: number) => ({
    accountId: "account1",
    symbol,
    exchange: "SSE",
    direction,
    volume,
    frozen: 0,
    price,
    pnl: Math.round((price - 0.1) * volume * 10000) / 100,
    ydVolume: volume,
  });
  return [
    true,
    [
      position("10007301", "long", 20, 0.1234),
      position("10007302", "short", 15, 0.0567),
      position("510050", "long", 100000, 2.512),
      position("10007355", "long", 4, 0.3321),
    ],
  ];
}

function opsPerSec(seconds: number, fn: () => void): number {
  for (let i = 0; i < 2000; i++) fn(); // warm up the JIT
  let n = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(seconds * 1e9));
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 200; i++) fn();
    n += 200;
    now = process.hrtime.bigint();
  }
  return n / (Number(now - start) / 1e9);
}

async function asyncOpsPerSec(seconds: number, concurrency: number, fn: () => Promise<void>): Promise<number> {
  for (let i = 0; i < 20; i++) await fn();
  let n = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      await fn();
      n++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return n / ((performance.now() - start) / 1000);
}

export async function benchPickle(o: PickleBenchOptions = {}): Promise<PickleBenchResult> {
  const quick = o.quick ?? process.env.BENCH_QUICK === "1";
  const log = o.log ?? ((line: string) => console.log(line));
  // Debian's interpreter where it exists (the one first on PATH may be another build).
  const python =
    o.pythonPath ?? process.env.PYTHON_PATH ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
  const scriptPath = o.scriptPath ?? process.env.PYTHON_SCRIPT_PATH ?? repositoryHelperScript();
  const phase = quick ? 0.4 : 2;
  const reply = typicalReply();
  const ours = dumps(reply);
  const f = (n: number) => Math.round(n).toLocaleString("en-US");

  let vsCpython: CpythonRow[] = [];
  try {
    const rounds = quick ? 1 : 5;
    vsCpython = await benchAgainstCpython({ python, rounds, seconds: quick ? 0.1 : 0.15 });
    log(
      `pickle vs CPython ${python} (C pickle, timeit): same bytes, ops per CPU-second, median of ${rounds} CPython-then-Node pairs per row:`,
    );
    for (const r of vsCpython) {
      log(
        `  ${r.op} ${`${r.label} (${f(r.bytes)} B)`.padEnd(46)} native ${f(r.nativeOpsPerSec).padStart(9)}/s  CPython ${f(r.cpythonOpsPerSec).padStart(9)}/s  ${r.ratio.toFixed(2)}x (target >= ${r.target}x) ${r.pass ? "pass" : "MISS"}`,
      );
    }
  } catch (err) {
    log(`(CPython comparison unavailable: ${err instanceof Error ? err.message.split("\n")[0] : String(err)})`);
  }

  // The same bytes CPython writes for this reply (pickle.dumps default, protocol 4).
  let cpython = ours;
  try {
    cpython = execFileSync(
      python,
      ["-c", "import sys, pickle; sys.stdout.buffer.write(pickle.dumps(pickle.loads(sys.stdin.buffer.read())))"],
      {
        input: ours,
      },
    );
  } catch {
    log("(python unavailable: pickleparser compared on our own bytes)");
  }

  const nativeOps = opsPerSec(phase, () => {
    loads(dumps(reply));
  });

  const helper = createPythonCodec({ pythonPath: python, scriptPath });
  let helperOps = 0;
  let helperSerial = 0;
  try {
    const once = async () => {
      await helper.decode(await helper.encode(reply));
    };
    helperSerial = await asyncOpsPerSec(phase / 2, 1, once);
    helperOps = await asyncOpsPerSec(phase, o.helperConcurrency ?? 32, once);
  } finally {
    await helper.close();
  }

  const oneShot = createPythonCodec({ pythonPath: python, scriptPath, mode: "one-shot" });
  let oneShotOps = 0;
  try {
    const runs = quick ? 3 : 10;
    await oneShot.decode(await oneShot.encode(reply));
    const start = performance.now();
    for (let i = 0; i < runs; i++) await oneShot.decode(await oneShot.encode(reply));
    oneShotOps = runs / ((performance.now() - start) / 1000);
  } finally {
    await oneShot.close();
  }

  const parser = new Parser();
  const decodeNative = opsPerSec(phase, () => {
    loads(cpython);
  });
  const decodePickleparser = opsPerSec(phase, () => {
    parser.parse(cpython);
  });

  const r: PickleBenchResult = {
    replyBytes: ours.length,
    nativeOpsPerSec: nativeOps,
    helperOpsPerSec: helperOps,
    helperSerialOpsPerSec: helperSerial,
    oneShotOpsPerSec: oneShotOps,
    nativeVsHelper: nativeOps / helperOps,
    nativeVsOneShot: nativeOps / oneShotOps,
    decodeNativeOpsPerSec: decodeNative,
    decodePickleparserOpsPerSec: decodePickleparser,
    nativeVsPickleparserDecode: decodeNative / decodePickleparser,
    cpython: vsCpython,
  };
  log(
    `pickle bench: typical reply ${r.replyBytes} bytes (ours), ${cpython.length} bytes (CPython)${quick ? ", quick" : ""}`,
  );
  log(`  encode+decode native                   ${f(r.nativeOpsPerSec).padStart(10)} /s`);
  log(
    `  encode+decode python helper, pipelined ${f(r.helperOpsPerSec).padStart(10)} /s   native is ${r.nativeVsHelper.toFixed(1)}x (target >= 50x)`,
  );
  log(
    `  encode+decode python helper, serial    ${f(r.helperSerialOpsPerSec).padStart(10)} /s   native is ${(nativeOps / helperSerial).toFixed(1)}x`,
  );
  log(
    `  encode+decode one process per message  ${r.oneShotOpsPerSec.toFixed(1).padStart(10)} /s   native is ${f(r.nativeVsOneShot)}x`,
  );
  log(`  decode native                          ${f(r.decodeNativeOpsPerSec).padStart(10)} /s`);
  log(
    `  decode pickleparser                    ${f(r.decodePickleparserOpsPerSec).padStart(10)} /s   native is ${r.nativeVsPickleparserDecode.toFixed(1)}x (target >= 2x)`,
  );
  return r;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await benchPickle();
}

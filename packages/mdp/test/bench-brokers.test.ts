/**
 * The bench's broker comparison (issue 16): our broker and python-scripts/zguide_broker.py
 * each route our client's load to our worker, and the output says so with its target.
 * It runs the bench as `pnpm bench` does (tsx, children of its own); BENCH_QUICK keeps it short.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { pythonForSuite } from "@desk/testkit";
import { describe, expect, it } from "vitest";
import { type BenchCase, type BrokerCase, formatResults, readyEndpoint, verdict } from "../bench/mdp.bench.js";

const python = pythonForSuite("mdp bench, zguide Python broker", ["zmq"]);
const packageDir = fileURLToPath(new URL("..", import.meta.url));

function runBench(args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "bench/mdp.bench.ts", ...args], {
    cwd: packageDir,
    env: { ...process.env, BENCH_QUICK: "1", ...(python === undefined ? {} : { PYTHON_PATH: python }) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  return new Promise((resolve) => child.once("exit", (code) => resolve({ code, out })));
}

const oneCase: BenchCase = {
  name: "MDP echo through our broker",
  concurrency: 64,
  requests: 10,
  seconds: 1,
  reqPerSec: 10,
  p50Ms: 1,
  p99Ms: 2,
};

describe("bench: our broker against the zguide Python broker", () => {
  it.skipIf(python === undefined)(
    "both brokers route the load; the ratio line carries its target and the brokers' CPU per request",
    async () => {
      const { code, out } = await runBench(["brokers"]);
      expect(code, out).toBe(0);
      const served = (name: string): number => {
        const line = out.split("\n").find((l) => l.startsWith(name));
        expect(line, `${name} row in:\n${out}`).toBeDefined();
        return Number(/(\d+) req in/.exec(line as string)?.[1]);
      };
      expect(served("MDP echo through our broker")).toBeGreaterThan(0);
      expect(served("MDP echo through zguide Python broker")).toBeGreaterThan(0);
      expect(out).toMatch(
        /our broker \/ zguide Python broker at concurrency 64: \d+\.\d\d {2}\(target >= 2\.00: (pass|MISS)\); broker CPU per request: ours \d+\.\d µs, Python \d+\.\d µs/,
      );
    },
    60_000,
  );

  it("without pyzmq the comparison is a visible 'skipped' line, not a silent gap", () => {
    const ours: BrokerCase = { ...oneCase, broker: "ours", brokerCpuUsPerRequest: 40 };
    const text = formatResults({
      raw: [],
      mdp: [],
      ratios: [{ concurrency: 64, ratio: 0.2 }],
      curve: [],
      curveRatios: [],
      brokers: { concurrency: 64, ours, skipped: "pyzmq absent (no Python that can `import zmq`)" },
    });
    expect(text).toContain("our broker / zguide Python broker at concurrency 64: skipped: pyzmq absent");
    expect(text).toContain("MDP/raw at concurrency 64: 0.20  (target >= 0.40: MISS)");
  });

  it("the Python broker's endpoint is read from its complete ready line only (-u writes it in pieces)", () => {
    expect(readyEndpoint("ready")).toBeUndefined();
    expect(readyEndpoint("ready ")).toBeUndefined();
    expect(readyEndpoint("ready tcp://127.0.0.1:4")).toBeUndefined();
    expect(readyEndpoint("ready tcp://127.0.0.1:41234\n")).toBe("tcp://127.0.0.1:41234");
  });

  it("a ratio at its target passes, one below misses", () => {
    expect(verdict(0.4, 0.4)).toBe("target >= 0.40: pass");
    expect(verdict(0.399, 0.4)).toBe("target >= 0.40: MISS");
  });
});

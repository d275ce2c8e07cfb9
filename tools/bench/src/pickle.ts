// Pickle codecs, measured by packages/pickle's own bench function (one source of truth),
// as built (dist, compiled with the package's own settings: through tsx from this
// directory its TypeScript source ran ~12% slower); this file only turns its figures into
// table rows. Targets are the ones packages/pickle states for itself.
import { benchPickle, type PickleBenchResult } from "@desk/pickle/bench";
import type { Row } from "./report.js";
import { settings } from "./settings.js";
import { median } from "./stats.js";

export async function benchPickleCodecs(log: (line: string) => void): Promise<Row[]> {
  const runs: PickleBenchResult[] = [];
  for (let r = 0; r < settings.pickleRounds; r++) {
    runs.push(
      await benchPickle({
        quick: settings.quick,
        // Debian's python3 (the pyenv one first on PATH may lack modules); PYTHON_PATH overrides.
        pythonPath: process.env.PYTHON_PATH ?? "/usr/bin/python3",
        log: (l) => log(`pickle: ${l.trim()}`),
      }),
    );
  }
  const m = (f: (r: PickleBenchResult) => number) => median(runs.map(f));
  // Against CPython's C pickle: packages/pickle already alternates rounds and takes medians.
  const vsCpython: Row[] = (runs[0]?.cpython ?? []).map((c) => ({
    group: "pickle",
    name: `native ${c.op}, ${c.label} (${c.bytes.toLocaleString("en-US")} B)`,
    value: c.nativeOpsPerSec,
    unit: "ops/s",
    baseline: `CPython C pickle ${c.op} (${Math.round(c.cpythonOpsPerSec).toLocaleString("en-US")}/s)`,
    ratio: c.ratio,
    target: `>= ${c.target}x CPython`,
    pass: c.pass,
  }));
  const native = m((r) => r.nativeOpsPerSec);
  const helper = m((r) => r.helperOpsPerSec);
  const helperSerial = m((r) => r.helperSerialOpsPerSec);
  const oneShot = m((r) => r.oneShotOpsPerSec);
  const decodeNative = m((r) => r.decodeNativeOpsPerSec);
  const decodePickleparser = m((r) => r.decodePickleparserOpsPerSec);
  const bytes = runs[0]?.replyBytes ?? 0;
  const row = (
    name: string,
    value: number,
    baseline?: { name: string; value: number },
    target?: { text: string; min: number },
  ): Row => ({
    group: "pickle",
    name,
    value,
    unit: "ops/s",
    ...(baseline ? { baseline: baseline.name, ratio: value / baseline.value } : {}),
    ...(target && baseline ? { target: target.text, pass: value / baseline.value >= target.min } : {}),
  });
  return [
    ...vsCpython,
    row("python, one process per message (seed design)", oneShot),
    row("python helper, long-lived, serial", helperSerial, { name: "one process per message", value: oneShot }),
    row("python helper, long-lived, pipelined", helper, { name: "one process per message", value: oneShot }),
    row(
      `native encode+decode (${bytes} B reply)`,
      native,
      { name: "helper, pipelined", value: helper },
      { text: ">= 50x helper", min: 50 },
    ),
    row("decode: pickleparser package", decodePickleparser),
    row(
      "decode: native",
      decodeNative,
      { name: "pickleparser decode", value: decodePickleparser },
      { text: ">= 2x pickleparser", min: 2 },
    ),
  ];
}

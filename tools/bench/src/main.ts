// `pnpm bench` (root): builds everything, then runs this. One table on stdout, the same
// figures in bench-results/latest.json. BENCH_QUICK=1 for a ~30 s smoke run.
import os from "node:os";
import { benchFanout } from "./fanout.js";
import { benchPickleCodecs } from "./pickle.js";
import { benchRpc } from "./rpc.js";
import { type Row, renderTable, writeResults } from "./report.js";
import { settings } from "./settings.js";

const started = Date.now();
const log = (line: string) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${line}\n`);

const only = process.argv.slice(2);
const groups: Array<[string, (log: (line: string) => void) => Promise<Row[]>]> = [
  ["rpc", benchRpc],
  ["fanout", benchFanout],
  ["pickle", benchPickleCodecs],
];

const rows: Row[] = [];
const failures: string[] = [];
for (const [name, run] of groups) {
  if (only.length > 0 && !only.includes(name)) continue;
  try {
    rows.push(...(await run(log)));
  } catch (err) {
    failures.push(`${name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    log(`${name} FAILED: ${String(err)}`);
  }
}

const seconds = (Date.now() - started) / 1000;
console.log(renderTable(rows));
const file = await writeResults(rows, {
  date: new Date().toISOString(),
  quick: settings.quick,
  seconds,
  node: process.version,
  cpus: os.cpus().length,
  loadavg: os.loadavg(),
  failures,
});
console.log(
  `\n${rows.filter((r) => r.pass === false).length} target(s) missed; ${failures.length} group(s) failed; ${seconds.toFixed(0)} s; results in ${file}`,
);
for (const f of failures) console.log(`FAILED ${f}`);
process.exit(failures.length > 0 ? 1 : 0);

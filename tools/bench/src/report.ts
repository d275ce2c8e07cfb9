import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export interface Row {
  group: "rpc" | "fanout" | "pickle";
  name: string;
  /** the figure, in `unit` */
  value: number;
  unit: string;
  /** the same-run baseline this row is compared with, and value / baseline value */
  baseline?: string;
  ratio?: number;
  p50Ms?: number;
  p99Ms?: number;
  /** a human statement of the target and whether it was met */
  target?: string;
  pass?: boolean;
  extra?: Record<string, number | string>;
}

const fmt = (n: number | undefined, digits = 0): string =>
  n === undefined || Number.isNaN(n)
    ? ""
    : n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

export function renderTable(rows: readonly Row[]): string {
  const header = [
    "group",
    "measurement",
    "value",
    "unit",
    "p50 ms",
    "p99 ms",
    "vs baseline",
    "ratio",
    "target",
    "result",
  ];
  const body = rows.map((r) => [
    r.group,
    r.name,
    fmt(r.value, r.value < 100 ? 2 : 0),
    r.unit,
    fmt(r.p50Ms, 2),
    fmt(r.p99Ms, 2),
    r.baseline ?? "",
    r.ratio === undefined ? "" : `${fmt(r.ratio, 3)}x`,
    r.target ?? "",
    r.pass === undefined ? "" : r.pass ? "pass" : "MISS",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i >= 2 && i <= 7 && i !== 3 && i !== 6 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "../../..");

export async function writeResults(rows: readonly Row[], meta: Record<string, unknown>): Promise<string> {
  const file = join(repoRoot, "bench-results", "latest.json");
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify({ ...meta, rows }, null, 2)}\n`);
  return file;
}

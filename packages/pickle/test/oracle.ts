import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter } from "node:path";
import { fileURLToPath } from "node:url";
import { isFrozenSet, isTuple } from "../src/index.js";

/** CPython is the oracle: Debian's /usr/bin/python3 where it exists, else python3 (pickle is stdlib). */
export const PYTHON = process.env.PYTHON_PATH ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
export const HELPER = fileURLToPath(new URL("../../../python-scripts/pickle_helper.py", import.meta.url));

/** Frames: u32 BE length + bytes, so a whole batch goes through ONE python process. */
export function frame(parts: readonly Uint8Array[]): Buffer {
  const out: Buffer[] = [];
  for (const p of parts) {
    const head = Buffer.allocUnsafe(4);
    head.writeUInt32BE(p.length, 0);
    out.push(head, Buffer.from(p.buffer, p.byteOffset, p.length));
  }
  return Buffer.concat(out);
}

export function unframe(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < data.length) {
    const n = data.readUInt32BE(pos);
    out.push(data.subarray(pos + 4, pos + 4 + n));
    pos += 4 + n;
  }
  return out;
}

/** Python prelude: framed stdin/stdout helpers available to every script. */
const PRELUDE = `
import sys, struct, pickle
def frames():
    data = sys.stdin.buffer.read()
    pos = 0
    while pos < len(data):
        (n,) = struct.unpack_from(">I", data, pos)
        yield data[pos + 4:pos + 4 + n]
        pos += 4 + n
def emit(b):
    sys.stdout.buffer.write(struct.pack(">I", len(b)) + b)
`;

export function runPython(script: string, input: Buffer = Buffer.alloc(0), env: NodeJS.ProcessEnv = {}): Buffer {
  return execFileSync(PYTHON, ["-c", PRELUDE + script], {
    input,
    maxBuffer: 512 * 1024 * 1024,
    env: {
      ...process.env,
      ...env,
      // pickle_helper (the JSON dialect) and test/python/oracle_values.py (generator, comparison).
      PYTHONPATH: [
        fileURLToPath(new URL("../../../python-scripts", import.meta.url)),
        fileURLToPath(new URL("./python", import.meta.url)),
      ].join(delimiter),
    },
  });
}

/**
 * A comparable form of a decoded value: types made explicit (tuple vs list, Map vs
 * object, bytes, bigint, -0, NaN), sets and dict keys sorted (Python orders sets by
 * hash, JS objects order integer-like keys first). Asserts dicts have no prototype.
 */
export function canon(v: unknown, seen = new Set<unknown>()): unknown {
  switch (typeof v) {
    case "number":
      return { num: Object.is(v, -0) ? "-0" : String(v) };
    case "bigint":
      return { big: v.toString() };
    case "string":
    case "boolean":
      return v;
    case "undefined":
      return null;
    case "object": {
      if (v === null) return null;
      if (seen.has(v)) return { cycle: true };
      seen.add(v);
      try {
        if (Array.isArray(v)) {
          const items = v.map((x) => canon(x, seen));
          return isTuple(v) ? { tuple: items } : items;
        }
        if (v instanceof Uint8Array) return { bytes: Buffer.from(v).toString("hex") };
        if (v instanceof Date) return { date: v.getTime() };
        if (v instanceof Set) {
          return { [isFrozenSet(v) ? "frozenset" : "set"]: [...v].map((x) => JSON.stringify(canon(x, seen))).sort() };
        }
        if (v instanceof Map)
          return { map: [...v].map(([k, x]) => JSON.stringify([canon(k, seen), canon(x, seen)])).sort() };
        const o = v as Record<string, unknown>;
        return {
          dict: Object.keys(o)
            .sort()
            .map((k) => [k, canon(o[k], seen)]),
        };
      } finally {
        seen.delete(v);
      }
    }
    default:
      throw new Error(`canon: ${typeof v}`);
  }
}

/** Every plain object inside a decoded value has a null prototype. */
export function assertNullProto(v: unknown, seen = new Set<unknown>()): void {
  if (typeof v !== "object" || v === null || seen.has(v)) return;
  seen.add(v);
  if (Array.isArray(v) || v instanceof Set) for (const x of v) assertNullProto(x, seen);
  else if (v instanceof Map) {
    for (const [k, x] of v) {
      assertNullProto(k, seen);
      assertNullProto(x, seen);
    }
  } else if (!(v instanceof Uint8Array) && !(v instanceof Date)) {
    if (Object.getPrototypeOf(v) !== null) throw new Error("decoded dict has a prototype");
    for (const x of Object.values(v)) assertNullProto(x, seen);
  }
}

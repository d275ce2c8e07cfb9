import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import type { PickleCodec } from "./codec.js";
import { PickleError, type PickleErrorCode } from "./errors.js";
import { repositoryHelperScript } from "./helper-script.js";
import { fromTagged, toTagged } from "./json-tags.js";

export interface PythonCodecOptions {
  /** Interpreter. Default: env PYTHON_PATH, else "python3". */
  pythonPath?: string;
  /** pickle_helper.py. Default: env PYTHON_SCRIPT_PATH, else the repository's python-scripts/pickle_helper.py. */
  scriptPath?: string;
  /**
   * "long-lived" (default): one process, many pipelined requests, restarted when it dies.
   * "one-shot": a process per message (the source document's design), for the bench baseline.
   */
  mode?: "long-lived" | "one-shot";
  /** Per-request deadline in ms; a helper that misses it is killed and restarted. Default 10,000. */
  timeout?: number;
}

const OP_ENCODE = 0x45;
const OP_DECODE = 0x44;
const STDERR_KEEP = 2048;

const defaultScript = (): string => process.env.PYTHON_SCRIPT_PATH ?? repositoryHelperScript();

function requestFrame(id: number, op: number, body: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(9 + body.length);
  frame.writeUInt32BE(5 + body.length, 0);
  frame.writeUInt32BE(id, 4);
  frame[8] = op;
  frame.set(body, 9);
  return frame;
}

function helperError(body: Buffer): PickleError {
  try {
    const e = JSON.parse(body.toString("utf8")) as { code?: string; message?: string; module?: string; name?: string };
    const code = (e.code ?? "MALFORMED") as PickleErrorCode;
    const global = e.module !== undefined && e.name !== undefined ? { module: e.module, name: e.name } : undefined;
    return new PickleError(code, `pickle helper: ${e.message ?? "error"}`, global ? { global } : undefined);
  } catch {
    return new PickleError("HELPER_FAILED", "pickle helper sent an unreadable error");
  }
}

function resultOf(op: number, status: number, body: Buffer): unknown {
  if (status !== 0) throw helperError(body);
  return op === OP_ENCODE ? body : fromTagged(JSON.parse(body.toString("utf8")));
}

/** Splits the helper's stdout into reply frames: [u32 len][u32 id][u8 status][body]. */
class FrameReader {
  private chunks: Buffer[] = [];
  private size = 0;

  push(chunk: Buffer, onFrame: (id: number, status: number, body: Buffer) => void): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    for (;;) {
      if (this.size < 4) return;
      let head = this.chunks[0]!;
      if (head.length < 4) head = this.flatten();
      const len = head.readUInt32BE(0);
      if (this.size < 4 + len) return;
      const all = this.chunks.length === 1 ? head : this.flatten();
      const frame = all.subarray(4, 4 + len);
      const rest = all.subarray(4 + len);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.size = rest.length;
      onFrame(frame.readUInt32BE(0), frame[4]!, frame.subarray(5));
    }
  }

  private flatten(): Buffer {
    const b = Buffer.concat(this.chunks, this.size);
    this.chunks = [b];
    return b;
  }
}

interface Pending {
  op: number;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  timer: NodeJS.Timeout;
}

/**
 * Pickling in CPython via python-scripts/pickle_helper.py (PICKLE_CODEC=python).
 * Requests are pipelined over one process and matched to replies by id. If the process
 * dies, every pending call fails with HELPER_FAILED and the next call starts a new one.
 */
export function createPythonCodec(o: PythonCodecOptions = {}): PickleCodec {
  const python = o.pythonPath ?? process.env.PYTHON_PATH ?? "python3";
  const script = o.scriptPath ?? defaultScript();
  const timeout = o.timeout ?? 10_000;
  return o.mode === "one-shot" ? oneShot(python, script, timeout) : longLived(python, script, timeout);
}

function longLived(python: string, script: string, timeout: number): PickleCodec {
  let child: ChildProcessWithoutNullStreams | undefined;
  let closed = false;
  let nextId = 1;
  let stderr = "";
  const pending = new Map<number, Pending>();

  const failAll = (err: PickleError): void => {
    for (const p of pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    pending.clear();
  };

  const start = (): ChildProcessWithoutNullStreams => {
    const proc = spawn(python, [script], { stdio: ["pipe", "pipe", "pipe"] });
    const reader = new FrameReader();
    stderr = "";
    proc.stdout.on("data", (chunk: Buffer) =>
      reader.push(chunk, (id, status, body) => {
        const p = pending.get(id);
        if (p === undefined) return; // timed out already
        pending.delete(id);
        clearTimeout(p.timer);
        try {
          p.resolve(resultOf(p.op, status, body));
        } catch (e) {
          p.reject(e);
        }
      }),
    );
    proc.stderr.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString("utf8")).slice(-STDERR_KEEP);
    });
    proc.stdin.on("error", () => {}); // EPIPE when it died: reported by "exit"/"error"
    const gone = (why: string): void => {
      if (child !== proc) return;
      child = undefined;
      const tail = stderr.trim() ? `; stderr: ${stderr.trim().split("\n").slice(-3).join(" | ")}` : "";
      failAll(new PickleError("HELPER_FAILED", `pickle helper (${python} ${script}) ${why}${tail}`));
    };
    proc.on("error", (e) => gone(`could not run: ${e.message}`));
    proc.on("exit", (code, signal) => gone(`exited (code ${code}, signal ${signal})`));
    return proc;
  };

  const request = (op: number, body: Uint8Array): Promise<unknown> => {
    if (closed) return Promise.reject(new PickleError("CLOSED", "python codec is closed"));
    if (child === undefined) child = start();
    const proc = child;
    const id = nextId;
    nextId = nextId >= 0xffffffff ? 1 : nextId + 1;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new PickleError("HELPER_FAILED", `pickle helper did not answer within ${timeout} ms; restarting it`));
        if (child === proc) proc.kill("SIGKILL");
      }, timeout);
      pending.set(id, { op, resolve, reject, timer });
      proc.stdin.write(requestFrame(id, op, body));
    });
  };

  return {
    kind: "python",
    encode: async (value) => (await request(OP_ENCODE, Buffer.from(JSON.stringify(toTagged(value)), "utf8"))) as Buffer,
    decode: (data) => request(OP_DECODE, data),
    async close() {
      if (closed) return;
      closed = true;
      failAll(new PickleError("CLOSED", "python codec closed"));
      const proc = child;
      child = undefined;
      if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        const kill = setTimeout(() => proc.kill("SIGKILL"), 2000);
        proc.once("exit", () => {
          clearTimeout(kill);
          resolve();
        });
        proc.stdin.end(); // EOF: the helper returns from its loop
      });
    },
  };
}

function oneShot(python: string, script: string, timeout: number): PickleCodec {
  let closed = false;
  const running = new Set<ChildProcessWithoutNullStreams>();
  const request = (op: number, body: Uint8Array): Promise<unknown> => {
    if (closed) return Promise.reject(new PickleError("CLOSED", "python codec is closed"));
    return new Promise((resolve, reject) => {
      const proc = spawn(python, [script, "--once"], { stdio: ["pipe", "pipe", "pipe"] });
      running.add(proc);
      const reader = new FrameReader();
      let settled = false;
      const settle = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        fn();
      };
      const timer = setTimeout(() => {
        proc.kill("SIGKILL");
        settle(() => reject(new PickleError("HELPER_FAILED", `pickle helper did not answer within ${timeout} ms`)));
      }, timeout);
      proc.stdout.on("data", (chunk: Buffer) =>
        reader.push(chunk, (_id, status, reply) =>
          settle(() => {
            try {
              resolve(resultOf(op, status, reply));
            } catch (e) {
              reject(e);
            }
          }),
        ),
      );
      proc.stdin.on("error", () => {});
      proc.on("error", (e) =>
        settle(() => reject(new PickleError("HELPER_FAILED", `pickle helper could not run: ${e.message}`))),
      );
      proc.on("exit", (code) => {
        running.delete(proc);
        settle(() => reject(new PickleError("HELPER_FAILED", `pickle helper exited (code ${code}) without a reply`)));
      });
      proc.stdin.end(requestFrame(1, op, body));
    });
  };
  return {
    kind: "python",
    encode: async (value) => (await request(OP_ENCODE, Buffer.from(JSON.stringify(toTagged(value)), "utf8"))) as Buffer,
    decode: (data) => request(OP_DECODE, data),
    async close() {
      closed = true;
      for (const p of running) p.kill("SIGKILL");
    },
  };
}

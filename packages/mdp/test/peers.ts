import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { type MdpBrokerStats, type MdpClient, MdpError } from "../src/index.js";
import { waitFor } from "./helpers.js";

/** Peers in their own processes (Python workers, brokers), killed and cleaned up by `closeAll`. */
const scripts = fileURLToPath(new URL("../../../python-scripts/", import.meta.url));
const brokerFixture = fileURLToPath(new URL("./fixtures/broker-process.ts", import.meta.url));
const workerFixture = fileURLToPath(new URL("./fixtures/worker-process.ts", import.meta.url));

export interface Peer {
  readonly child: ChildProcess;
  /** The text after "ready " on its first ready line. */
  readonly ready: Promise<string>;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
}

export class Peers {
  private readonly children: ChildProcess[] = [];
  private readonly dirs: string[] = [];

  constructor(private readonly interpreter: string | undefined) {}

  spawn(command: string, args: string[], o: { stdin?: boolean } = {}): Peer {
    const child = spawn(command, args, { stdio: [o.stdin ? "pipe" : "ignore", "pipe", "inherit"] });
    this.children.push(child);
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const ready = new Promise<string>((resolve, reject) => {
      let out = "";
      const onData = (d: Buffer): void => {
        out += d.toString();
        // Complete lines only: an unbuffered process may write one line in pieces.
        const line = out
          .split("\n")
          .slice(0, -1)
          .find((l) => l.startsWith("ready"));
        if (line !== undefined) {
          child.stdout?.off("data", onData);
          resolve(line.slice("ready".length).trim());
        }
      };
      child.stdout?.on("data", onData);
      void exited.then((code) => reject(new Error(`${args[0] ?? command} exited (${code}) before it was ready`)));
    });
    ready.catch(() => {}); // a caller that never awaits it must not see an unhandled rejection
    return { child, ready, exited, kill: (signal = "SIGKILL") => void child.kill(signal) };
  }

  /** A script of python-scripts/ under the interpreter that imports zmq. */
  python(script: string, args: string[]): Peer {
    if (this.interpreter === undefined) throw new Error("no Python with pyzmq");
    return this.spawn(this.interpreter, ["-u", `${scripts}${script}`, ...args]);
  }

  /** A zguide-style worker (no reply cache, silent while busy) that logs every execution to `log`. */
  async plainWorker(endpoint: string, service: string, log: string, o: { heartbeat?: number; delay?: number } = {}) {
    const heartbeat = String(o.heartbeat ?? 500);
    const worker = this.python("plain_worker.py", [
      endpoint,
      service,
      "--log",
      log,
      "--heartbeat",
      heartbeat,
      "--liveness",
      "5",
      "--reconnect",
      heartbeat,
      "--delay",
      String(o.delay ?? 0),
    ]);
    await worker.ready;
    return worker;
  }

  /**
   * Our MdpWorker in a child process (answers "<pid>:<payload>"). `heartbeat` must be the
   * broker's interval: the worker holds the broker dead after 5 of its own intervals of silence.
   */
  async nodeWorker(
    endpoint: string,
    service: string,
    o: { delay?: number; concurrency?: number; heartbeat?: number } = {},
  ) {
    const args = [String(o.delay ?? 0), "5", String(o.concurrency ?? 1), String(o.heartbeat ?? 100)];
    const worker = this.spawn(process.execPath, ["--import", "tsx", workerFixture, endpoint, service, ...args]);
    await worker.ready;
    return worker;
  }

  /** Our broker in a child process; `stats()` asks it over stdin. */
  async broker(endpoint: string, options: Record<string, unknown>) {
    const peer = this.spawn(process.execPath, ["--import", "tsx", brokerFixture, endpoint, JSON.stringify(options)], {
      stdin: true,
    });
    const url = await peer.ready;
    let buffer = "";
    const answers: string[] = [];
    peer.child.stdout?.on("data", (d: Buffer) => {
      buffer += d.toString();
      for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line.startsWith("stats ")) answers.push(line.slice(6));
      }
    });
    const stats = async (): Promise<MdpBrokerStats> => {
      const before = answers.length;
      peer.child.stdin?.write("stats\n");
      await waitFor(() => answers.length > before, "broker process stats");
      return JSON.parse(answers[answers.length - 1] as string) as MdpBrokerStats;
    };
    return { peer, url, stats };
  }

  /** A fresh directory for execution logs, removed by closeAll. */
  tempDir(): string {
    const dir = mkdtempSync(join(tmpdir(), "mdp-delivery-"));
    this.dirs.push(dir);
    return dir;
  }

  async closeAll(): Promise<void> {
    for (const c of this.children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    for (const d of this.dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  }
}

/** Executions a plain_worker.py logged: requestId -> one entry per execution. */
export function executions(...logs: string[]): Map<string, Array<{ pid: number; at: number }>> {
  const byId = new Map<string, Array<{ pid: number; at: number }>>();
  for (const log of logs) {
    let text = "";
    try {
      text = readFileSync(log, "utf8");
    } catch {
      continue; // nothing executed yet
    }
    for (const line of text.split("\n")) {
      const [id, pid, at] = line.split(" ");
      if (id === undefined || pid === undefined || at === undefined) continue;
      const list = byId.get(id) ?? [];
      list.push({ pid: Number(pid), at: Number(at) });
      byId.set(id, list);
    }
  }
  return byId;
}

/** What one caller got: a result or an error code, and whether it came within its deadline. */
export interface Outcome {
  id: string;
  kind: "read" | "write";
  code: string;
  startedAt: number;
  endedAt: number;
  deadline: number;
}

/** Tally of outcomes by kind and code, for the report and the assertions' messages. */
export function tally(outcomes: Outcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of outcomes) counts[`${o.kind}:${o.code}`] = (counts[`${o.kind}:${o.code}`] ?? 0) + 1;
  return counts;
}

/** A timer may fire late on a loaded 2-core machine; answers must still come about on time. */
const SLACK_MS = 1500;

export interface CallOptions {
  timeout: number;
  retries: number;
  requestId?: string;
}

/** One caller: a read (idempotent) or a write (the default, at most once), and what it got. */
export async function call(
  client: MdpClient,
  service: string,
  payload: string,
  kind: "read" | "write",
  o: CallOptions,
): Promise<Outcome & { reply?: string; message?: string }> {
  const id = o.requestId ?? client.nextRequestId();
  const startedAt = Date.now();
  const deadline = startedAt + o.timeout * o.retries;
  try {
    const reply = await client.request(service, Buffer.from(payload), {
      requestId: id,
      timeout: o.timeout,
      retries: o.retries,
      idempotent: kind === "read",
    });
    return { id, kind, code: "OK", reply: reply.toString(), startedAt, endedAt: Date.now(), deadline };
  } catch (err) {
    const code = err instanceof MdpError ? err.code : `UNTYPED ${String(err)}`;
    const message = err instanceof Error ? err.message : String(err);
    return { id, kind, code, message, startedAt, endedAt: Date.now(), deadline };
  }
}

/** The three promises, checked against the workers' execution logs. */
export function checkDelivery(outcomes: Outcome[], ran: Map<string, Array<{ pid: number; at: number }>>): void {
  const summary = JSON.stringify(tally(outcomes));
  for (const o of outcomes) {
    expect(o.code, `${o.id}: typed answer (${summary})`).not.toMatch(/^UNTYPED/);
    expect(o.endedAt, `${o.id} (${o.kind} ${o.code}) answered within its deadline`).toBeLessThanOrEqual(
      o.deadline + SLACK_MS,
    );
    if (o.kind !== "write") continue;
    const n = ran.get(o.id)?.length ?? 0;
    expect(n, `write ${o.id} (${o.code}) executed at most once`).toBeLessThanOrEqual(1);
    if (o.code === "OK") expect(n, `write ${o.id} answered OK executed once`).toBe(1);
    else if (o.code !== "OUTCOME_UNKNOWN") expect(n, `write ${o.id} told ${o.code} never executed`).toBe(0);
  }
}

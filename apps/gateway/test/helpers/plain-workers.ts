import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { account, execution, users } from "./fake-backend.js";

const script = fileURLToPath(new URL("../../../../python-scripts/plain_worker.py", import.meta.url));

/** trader1 of the fake backend: two accounts, every trading permission. */
const trader = users.trader1!;

/**
 * Canned answers for plain_worker.py --answers: contract-valid results per method, the
 * execution's id and requestId made from the request's own id, so each execution is
 * recognisable. Any username logs in as trader1.
 */
const answers = {
  authenticate: {
    user: { id: trader.id, username: "trader1", displayName: "trader1", role: trader.role, active: true },
    permissions: trader.permissions,
  },
  get_user_permissions: {
    userId: trader.id,
    role: trader.role,
    permissions: trader.permissions,
    accounts: trader.accounts,
    allAccounts: trader.all,
  },
  get_account: account("account1"),
  set_account_enabled: account("account1", false),
  execute_instructions: { ...execution("ex-{requestId}", "running", false), requestId: "{requestId}" },
};

export interface PlainWorker {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
}

/** One execution, as the workers logged it before doing the work. */
export interface Execution {
  requestId: string;
  pid: number;
  at: number;
  method: string;
}

/**
 * python-scripts/plain_worker.py in pickle mode: RFC 7 workers that promise nothing (no
 * reply cache, no HEARTBEAT while a handler runs), as the desk's trading system may be.
 * Every execution is logged by the worker itself before it starts (a worker killed
 * mid-request still counts it): that log is what "executed at most once" is checked on.
 */
export class PlainWorkers {
  private readonly dir = mkdtempSync(join(tmpdir(), "gateway-delivery-"));
  private readonly answersFile = join(this.dir, "answers.json");
  private readonly children: ChildProcess[] = [];
  private readonly logs: string[] = [];

  constructor(private readonly python: string) {
    writeFileSync(this.answersFile, JSON.stringify(answers));
  }

  /** A worker for `service`, `delay` ms per request (silent meanwhile), registered once it prints ready. */
  async start(endpoint: string, service: string, o: { delay?: number; heartbeat?: number } = {}): Promise<PlainWorker> {
    const heartbeat = String(o.heartbeat ?? 500);
    const log = join(this.dir, `${service}-${this.logs.length}.log`);
    this.logs.push(log);
    const child = spawn(
      this.python,
      [
        "-u",
        script,
        endpoint,
        service,
        "--log",
        log,
        "--answers",
        this.answersFile,
        "--delay",
        String(o.delay ?? 0),
        "--heartbeat",
        heartbeat,
        "--liveness",
        "5",
        "--reconnect",
        heartbeat,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    this.children.push(child);
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      let out = "";
      child.stdout?.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes("ready\n")) resolve();
      });
      void exited.then((code) => reject(new Error(`plain_worker.py ${service} exited (${code}) before it was ready`)));
    });
    return { child, pid: child.pid ?? -1, exited, kill: (signal = "SIGKILL") => void child.kill(signal) };
  }

  /** Every execution logged so far, of `method` if given. */
  executions(method?: string): Execution[] {
    const all: Execution[] = [];
    for (const log of this.logs) {
      let text = "";
      try {
        text = readFileSync(log, "utf8");
      } catch {
        continue; // nothing executed there yet
      }
      for (const line of text.split("\n")) {
        const [requestId, pid, at, logged] = line.split(" ");
        if (requestId === undefined || pid === undefined || at === undefined || logged === undefined) continue;
        if (method === undefined || logged === method)
          all.push({ requestId, pid: Number(pid), at: Number(at), method: logged });
      }
    }
    return all;
  }

  closeAll(): void {
    for (const c of this.children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    rmSync(this.dir, { recursive: true, force: true });
  }
}

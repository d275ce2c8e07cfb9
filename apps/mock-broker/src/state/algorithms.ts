import type { Algorithm, AlgorithmCommand, AlgorithmLog, AlgorithmStatus, LogLevel } from "@desk/contracts";
import type { Rng } from "../domain/index.js";
import { conflict } from "../errors.js";
import type { Clock } from "../time.js";

/**
 * Execution algorithms: they advance on each market tick while running, and
 * every change is reported (the simulation publishes it with its log line).
 */
export interface AlgorithmStore {
  list(): Algorithm[];
  get(id: string): Algorithm | undefined;
  logs(id: string): AlgorithmLog[] | undefined;
  /** Applies a command or throws CONFLICT naming the status that forbids it. */
  command(
    id: string,
    command: AlgorithmCommand,
    userId: string,
  ): { algorithm: Algorithm; log: AlgorithmLog } | undefined;
  /** One tick of work for every running algorithm: what changed, with its log line. */
  advance(): Array<{ algorithm: Algorithm; log: AlgorithmLog }>;
}

const MAX_LOGS = 500;

type Seed = Pick<
  Algorithm,
  "id" | "name" | "kind" | "status" | "accountId" | "parameters" | "targetQuantity" | "filledQuantity"
>;

export const SEED_ALGORITHMS: readonly Seed[] = [
  {
    id: "algo-001",
    name: "TWAP sell 500ETF calls",
    kind: "TWAP",
    status: "running",
    accountId: "account1",
    parameters: { underlying: "510500", side: "sell", durationMinutes: 60, sliceSeconds: 30 },
    targetQuantity: 400,
    filledQuantity: 96,
  },
  {
    id: "algo-002",
    name: "VWAP buy 300ETF puts",
    kind: "VWAP",
    status: "running",
    accountId: "account2",
    parameters: { underlying: "510300", side: "buy", maxParticipation: 0.1 },
    targetQuantity: 600,
    filledQuantity: 30,
  },
  {
    id: "algo-003",
    name: "Iceberg sell 50ETF strangle",
    kind: "ICEBERG",
    status: "paused",
    accountId: "account2",
    parameters: { underlying: "510050", side: "sell", displayQuantity: 10 },
    targetQuantity: 200,
    filledQuantity: 80,
  },
  {
    id: "algo-004",
    name: "Delta hedger account1",
    kind: "DELTA_HEDGER",
    status: "running",
    accountId: "account1",
    parameters: { underlying: "510500", band: 50_000, hedgeWith: "510500" },
    targetQuantity: 100_000,
    filledQuantity: 0,
  },
  {
    id: "algo-005",
    name: "TWAP close 创业板 calls",
    kind: "TWAP",
    status: "completed",
    accountId: "account3",
    parameters: { underlying: "159915", side: "buy", durationMinutes: 30 },
    targetQuantity: 150,
    filledQuantity: 150,
  },
];

/** Which statuses each command may start from, and where it leads. */
const TRANSITIONS: Record<AlgorithmCommand, { from: readonly AlgorithmStatus[]; to: AlgorithmStatus }> = {
  start: { from: ["stopped", "failed"], to: "running" },
  pause: { from: ["running"], to: "paused" },
  resume: { from: ["paused"], to: "running" },
  stop: { from: ["running", "paused"], to: "stopped" },
};

interface Entry {
  algorithm: Algorithm;
  logs: AlgorithmLog[];
}

export function createAlgorithmStore(rng: Rng, clock: Clock, seed: readonly Seed[] = SEED_ALGORITHMS): AlgorithmStore {
  const entries = new Map<string, Entry>();
  const started = clock();
  for (const s of seed) {
    const algorithm: Algorithm = {
      ...s,
      parameters: { ...s.parameters },
      progress: progressOf(s),
      createdAt: started,
      updatedAt: started,
    };
    entries.set(s.id, {
      algorithm,
      logs: [
        {
          time: started,
          level: "info",
          message: `${s.kind} ${s.status}: ${s.filledQuantity}/${s.targetQuantity} filled`,
        },
      ],
    });
  }

  const log = (e: Entry, level: LogLevel, message: string): AlgorithmLog => {
    const line = { time: clock(), level, message };
    e.logs.push(line);
    if (e.logs.length > MAX_LOGS) e.logs.splice(0, e.logs.length - MAX_LOGS);
    return line;
  };
  const snapshot = (e: Entry): Algorithm => ({ ...e.algorithm, parameters: { ...e.algorithm.parameters } });

  return {
    list: () => [...entries.values()].map(snapshot),
    get: (id) => {
      const e = entries.get(id);
      return e ? snapshot(e) : undefined;
    },
    logs: (id) => entries.get(id)?.logs.map((l) => ({ ...l })),
    command(id, command, userId) {
      const e = entries.get(id);
      if (!e) return undefined;
      const rule = TRANSITIONS[command];
      const status = e.algorithm.status;
      if (!rule.from.includes(status)) {
        throw conflict(
          `cannot ${command} algorithm ${id}: it is ${status} (${command} needs ${rule.from.join(" or ")})`,
        );
      }
      if (command === "start" && e.algorithm.filledQuantity >= e.algorithm.targetQuantity) {
        throw conflict(`cannot start algorithm ${id}: its target is already filled`);
      }
      e.algorithm = { ...e.algorithm, status: rule.to, updatedAt: clock() };
      return { algorithm: snapshot(e), log: log(e, "info", `${command} by ${userId}: now ${rule.to}`) };
    },
    advance() {
      const changed: Array<{ algorithm: Algorithm; log: AlgorithmLog }> = [];
      for (const e of entries.values()) {
        const a = e.algorithm;
        if (a.status !== "running") continue;
        const lots = Math.min(
          a.targetQuantity - a.filledQuantity,
          rng.int(1, Math.max(1, Math.ceil(a.targetQuantity * 0.02))),
        );
        const filledQuantity = a.filledQuantity + lots;
        const done = filledQuantity >= a.targetQuantity;
        e.algorithm = {
          ...a,
          filledQuantity,
          progress: progressOf({ filledQuantity, targetQuantity: a.targetQuantity }),
          status: done ? "completed" : "running",
          updatedAt: clock(),
        };
        const line = done
          ? log(e, "info", `completed: ${filledQuantity}/${a.targetQuantity} filled`)
          : log(
              e,
              "debug",
              `${a.kind === "DELTA_HEDGER" ? "hedged" : "filled"} ${lots} lots (${filledQuantity}/${a.targetQuantity})`,
            );
        changed.push({ algorithm: snapshot(e), log: line });
      }
      return changed;
    },
  };
}

function progressOf(a: { filledQuantity: number; targetQuantity: number }): number {
  if (a.targetQuantity <= 0) return 0;
  return Math.min(1, Math.round((a.filledQuantity / a.targetQuantity) * 10_000) / 10_000);
}

// The source document's "connection pool metrics in logs": the MDP client's figures,
// logged by a real gateway's MdpClient against a real broker.
import { Writable } from "node:stream";
import { MdpClient } from "@desk/mdp";
import { dumps } from "@desk/pickle";
import { waitFor } from "@desk/testkit";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { logPoolFigures } from "../src/pool-log.js";
import { startFakeBackend } from "./helpers/fake-backend.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

interface Line {
  msg: string;
  mdp: Record<string, number | string | boolean>;
  changed?: string[];
  time: number;
}

function capture() {
  const lines: Line[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const text of String(chunk).split("\n")) if (text) lines.push(JSON.parse(text) as Line);
      done();
    },
  });
  return { lines, logger: pino({ level: "info" }, stream) };
}

describe("MDP pool figures in the log", () => {
  it("logs them at start, every interval, and at once when a figure of trouble changes", async () => {
    const backend = await startFakeBackend();
    cleanups.push(() => backend.close());
    const client = new MdpClient({ endpoints: backend.brokerUrl, timeout: 200, retries: 1 });
    cleanups.push(() => client.close());
    const { lines, logger } = capture();
    const log = logPoolFigures({ stats: () => ({ ...client.stats() }), logger, intervalMs: 400, checkMs: 50 });
    cleanups.push(() => log.stop());

    expect(lines).toHaveLength(1);
    expect(lines[0]?.msg).toBe("mdp connection pool");
    expect(Object.keys(lines[0]?.mdp ?? {}).slice(0, 8)).toEqual([
      "inFlight",
      "sent",
      "replies",
      "timeouts",
      "retries",
      "reconnects",
      "lateReplies",
      "outcomeUnknown",
    ]);
    expect(lines[0]?.mdp).toMatchObject({ endpoint: backend.brokerUrl, inFlight: 0, timeouts: 0 });

    // Calls alone (sent, replies) wait for the interval's line.
    const payload = dumps(["get_accounts", [], { _ctx: { userId: "u1", requestId: "r1" } }]);
    await client.request("account_service", payload);
    await waitFor(() => lines.length >= 2, "the periodic line");
    expect(lines[1]?.changed).toBeUndefined();
    expect(lines[1]?.mdp.replies).toBe(1);
    expect((lines[1]?.time ?? 0) - (lines[0]?.time ?? 0)).toBeGreaterThanOrEqual(400);

    // A read that times out is news: logged within a check, naming what changed.
    const before = lines.length;
    await backend.stopWorker("account_service");
    await client.request("account_service", payload, { idempotent: true }).catch(() => undefined);
    await waitFor(() => lines.slice(before).some((l) => l.changed?.includes("timeouts")), "the change's line");
    const changedLine = lines.slice(before).find((l) => l.changed?.includes("timeouts"));
    expect(changedLine?.mdp.timeouts).toBeGreaterThanOrEqual(1);
  });
});

// RPC throughput and latency: the raw ZeroMQ ceiling and MDP echo (measured by
// packages/mdp's own bench functions), then the same account_service.get_accounts request
// through MDP directly and through the gateway over WebSocket and HTTP, all against one
// instant backend. Layout, as in production: the load generator (this process), the
// gateway (a child process) and the backend (another child process) each have their own
// event loop; packages/mdp's "split" layout likewise serves from a child process.
import { MdpClient } from "@desk/mdp";
import { closeGatewayClient, createGatewayClient, login } from "@desk/sdk";
import { type BrokerCase, MDP_TARGETS, benchBroker, benchMdp, benchRawEcho, pythonWithPyzmq } from "@desk/mdp/bench";
import { benchLogin, getAccountsPayload } from "./instant-backend.js";
import { type LoadResult, runLoad, runRounds } from "./load.js";
import type { Row } from "./report.js";
import { startServiceProcess } from "./services.js";
import { settings } from "./settings.js";
import { median, type PromBuckets, parsePromBuckets, promQuantileMs } from "./stats.js";

/** The gateway's gateway_call_overhead_seconds buckets for one transport, now. */
async function overheadBuckets(gatewayUrl: string, transport: "ws" | "http"): Promise<PromBuckets> {
  const text = await fetch(`${gatewayUrl}/metrics`).then((r) => r.text());
  return parsePromBuckets(text, "gateway_call_overhead_seconds", `transport="${transport}"`);
}

type Path = "raw" | "mdpEcho" | "mdp" | "ws" | "http";

const labels: Record<Path, string> = {
  raw: "raw zeromq DEALER/ROUTER echo",
  mdpEcho: "MDP echo (client->broker->worker)",
  mdp: "MDP get_accounts (pickle, instant worker)",
  ws: "gateway tRPC over WebSocket (SDK)",
  http: "gateway tRPC over HTTP batch (SDK)",
};

/** packages/mdp's cases report one round; run it `rounds` times and take medians like runRounds does. */
async function mdpBenchRounds(fn: typeof benchRawEcho, concurrency: number): Promise<LoadResult> {
  const cases = [];
  for (let r = 0; r < settings.rpcRounds; r++)
    cases.push(await fn({ concurrency, durationMs: settings.rpcRoundMs, layout: "split" }));
  return {
    rps: median(cases.map((c) => c.reqPerSec)),
    p50Ms: median(cases.map((c) => c.p50Ms)),
    p99Ms: median(cases.map((c) => c.p99Ms)),
    completed: cases.reduce((s, c) => s + c.requests, 0),
    errors: 0,
  };
}

/**
 * Our broker against python-scripts/zguide_broker.py routing the same load (our client
 * here, our worker in a child, each broker in its own process), rounds alternating so
 * both see the same machine; medians. Without pyzmq, one row says it was skipped.
 */
async function brokerRows(log: (line: string) => void): Promise<Row[]> {
  const { concurrency, atLeast } = MDP_TARGETS.oursOverPython;
  const target = `>= ${atLeast}x Python broker req/s`;
  const { python, skipped } = pythonWithPyzmq();
  if (python === undefined) {
    log(`rpc: broker comparison skipped: ${skipped}`);
    return [
      {
        group: "rpc",
        name: `MDP echo, our broker vs zguide Python broker c=${concurrency}: skipped: pyzmq absent`,
        value: Number.NaN,
        unit: "req/s",
        target,
        extra: { skipped: skipped ?? "" },
      },
    ];
  }
  const ours: BrokerCase[] = [];
  const py: BrokerCase[] = [];
  for (let r = 0; r < settings.rpcRounds; r++) {
    log(`rpc: MDP echo through our broker c=${concurrency} (round ${r + 1})`);
    ours.push(await benchBroker("ours", { concurrency, durationMs: settings.rpcRoundMs }));
    log(`rpc: MDP echo through the zguide Python broker c=${concurrency} (round ${r + 1})`);
    py.push(await benchBroker("zguide-python", { concurrency, durationMs: settings.rpcRoundMs, python }));
  }
  const row = (cases: BrokerCase[], name: string): Row => ({
    group: "rpc",
    name,
    value: median(cases.map((c) => c.reqPerSec)),
    unit: "req/s",
    p50Ms: median(cases.map((c) => c.p50Ms)),
    p99Ms: median(cases.map((c) => c.p99Ms)),
    extra: {
      concurrency,
      completed: cases.reduce((s, c) => s + c.requests, 0),
      brokerCpuUsPerRequest: median(cases.map((c) => c.brokerCpuUsPerRequest)),
    },
  });
  const base = { ...row(py, `MDP echo through zguide Python broker (pyzmq) c=${concurrency}`), target: "baseline" };
  const mine = row(ours, `MDP echo through our broker (same client, worker) c=${concurrency}`);
  const ratio = mine.value / base.value;
  return [base, { ...mine, baseline: `zguide Python broker c=${concurrency}`, ratio, target, pass: ratio >= atLeast }];
}

export async function benchRpc(log: (line: string) => void): Promise<Row[]> {
  const results = new Map<string, LoadResult>();
  /** The gateway's own time per call (its /metrics histogram over the ws rounds), per concurrency. */
  const overhead = new Map<number, { p50Ms: number; p99Ms: number }>();
  const key = (path: Path, c: number) => `${path}@${c}`;

  for (const c of settings.concurrencies) {
    log(`rpc: raw echo c=${c}`);
    results.set(key("raw", c), await mdpBenchRounds(benchRawEcho, c));
    log(`rpc: MDP echo c=${c}`);
    results.set(key("mdpEcho", c), await mdpBenchRounds(benchMdp, c));
  }
  const brokers = await brokerRows(log);

  const backend = await startServiceProcess({ type: "start", kind: "backend" });
  // Nothing publishes in the RPC bench; the gateway's SUB socket just waits on an unused port.
  const gateway = await startServiceProcess({
    type: "start",
    kind: "gateway",
    brokerUrl: backend.url,
    pubUrl: "tcp://127.0.0.1:1",
  });
  const mdp = new MdpClient({ endpoints: backend.url, timeout: 10_000, retries: 1, idPrefix: "bench" });
  const { token } = await login(gateway.url, benchLogin.username, benchLogin.password);
  const ws = createGatewayClient({ url: gateway.url, token, transport: "ws", keepAliveMs: false });
  const http = createGatewayClient({ url: gateway.url, token });
  try {
    const calls: Record<"mdp" | "ws" | "http", () => Promise<unknown>> = {
      mdp: () => {
        const requestId = mdp.nextRequestId();
        return mdp.request("account_service", getAccountsPayload(requestId), { requestId, idempotent: true });
      },
      ws: () => ws.account.list.query(),
      http: () => http.account.list.query(),
    };
    // A wrong answer must not pass for a fast one.
    const accounts = await ws.account.list.query();
    if (accounts.length !== 3) throw new Error(`bench gateway returned ${accounts.length} accounts, expected 3`);
    for (const path of ["mdp", "ws", "http"] as const) {
      log(`rpc: ${path} warm-up (${settings.warmupMs} ms, unmeasured)`);
      await runLoad(calls[path], { concurrency: 1, durationMs: settings.warmupMs, warmupCalls: 0 });
    }
    for (const c of settings.concurrencies) {
      for (const path of ["mdp", "ws", "http"] as const) {
        log(`rpc: ${path} c=${c}`);
        const before = path === "ws" ? await overheadBuckets(gateway.url, "ws") : undefined;
        results.set(
          key(path, c),
          await runRounds(calls[path], { concurrency: c, durationMs: settings.rpcRoundMs, rounds: settings.rpcRounds }),
        );
        if (before) {
          const after = await overheadBuckets(gateway.url, "ws");
          overhead.set(c, { p50Ms: promQuantileMs(before, after, 0.5), p99Ms: promQuantileMs(before, after, 0.99) });
        }
      }
    }
  } finally {
    await closeGatewayClient(ws);
    await closeGatewayClient(http);
    await mdp.close();
    await gateway.close();
    await backend.close();
  }

  const rows: Row[] = [];
  for (const c of settings.concurrencies) {
    const raw = results.get(key("raw", c))!;
    const mdpPath = results.get(key("mdp", c))!;
    const baselineOf: Record<Path, { name: string; r: LoadResult } | undefined> = {
      raw: undefined,
      mdpEcho: { name: `raw c=${c}`, r: raw },
      mdp: { name: `raw c=${c}`, r: raw },
      ws: { name: `MDP get_accounts c=${c}`, r: mdpPath },
      http: { name: `MDP get_accounts c=${c}`, r: mdpPath },
    };
    for (const path of ["raw", "mdpEcho", "mdp", "ws", "http"] as const) {
      const r = results.get(key(path, c))!;
      const base = baselineOf[path];
      const ratio = base ? r.rps / base.r.rps : undefined;
      const row: Row = {
        group: "rpc",
        name: `${labels[path]} c=${c}`,
        value: r.rps,
        unit: "req/s",
        p50Ms: r.p50Ms,
        p99Ms: r.p99Ms,
        ...(base ? { baseline: base.name, ratio } : {}),
        extra: { concurrency: c, completed: r.completed, errors: r.errors },
      };
      // Every MDP row says what it is held to, baselines included.
      if (path === "raw") row.target = "baseline (the ceiling)";
      if (path === "mdpEcho" && c === MDP_TARGETS.mdpOverRaw.concurrency) {
        row.target = `>= ${MDP_TARGETS.mdpOverRaw.atLeast}x raw req/s`;
        row.pass = (ratio ?? 0) >= MDP_TARGETS.mdpOverRaw.atLeast;
      } else if (path === "mdpEcho") {
        row.target = `none at c=${c}`;
      }
      if (path === "ws" && c === 1) {
        row.target = "p50 <= MDP p50 + 0.3 ms";
        row.pass = r.p50Ms <= mdpPath.p50Ms + 0.3 && r.errors === 0;
      }
      if (path === "ws" && c === 64) {
        row.target = ">= 0.6x MDP req/s";
        row.pass = (ratio ?? 0) >= 0.6 && r.errors === 0;
      }
      rows.push(row);
      const own = overhead.get(c);
      if (path === "ws" && own) {
        // Measured inside the gateway: arrival of the message to the write of the reply, minus the MDP call.
        rows.push({
          group: "rpc",
          name: `gateway's own time per call, ws (its /metrics) c=${c}`,
          value: own.p50Ms,
          unit: "ms p50",
          p50Ms: own.p50Ms,
          p99Ms: own.p99Ms,
          ...(c === 1 ? { target: "p50 <= 0.15 ms", pass: own.p50Ms <= 0.15 } : {}),
        });
      }
    }
  }
  rows.push(...brokers);
  return rows;
}

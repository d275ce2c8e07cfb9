/**
 * The delivery scenarios against the mock's kind of backend: our broker and MdpWorker,
 * whose workers answer a repeated requestId from a reply cache (or join its running
 * execution), as @desk/mock-broker's do; with ZMQ_DEDUPE_WRITES=true where the answer
 * differs from delivery.test.ts. Handlers are the fake backend's, made to stall on a
 * gate so the test decides when a write finishes; executions are counted in them. Also:
 * an unknown outcome learnt from the execution topic (ZMQ_DEDUPE_WRITES=false).
 */
import type { Execution } from "@desk/contracts";
import { type NodeProcess, waitFor } from "@desk/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { startGateway } from "../src/index.js";
import { answerOfRest, executeRest, hundredCallers, metric, tally, wsOnlyClient } from "./helpers/delivery.js";
import { type FakeBackend, type Kwargs, execution, startFakeBackend } from "./helpers/fake-backend.js";
import { startGatewayProcess } from "./helpers/gateway-process.js";
import { login, rest, testConfig } from "./helpers/stack.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function backend(): Promise<FakeBackend> {
  const b = await startFakeBackend();
  cleanups.push(() => b.close());
  return b;
}

/** Replaces `method` by one that counts its runs and waits for release() before answering with the usual result. */
function stall<S extends "instruction_service" | "account_service">(b: FakeBackend, service: S, method: string) {
  const table = b.handlers[service] as unknown as Record<string, (args: unknown[], kwargs: Kwargs) => unknown>;
  const original = table[method]!;
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const counter = { runs: 0, release };
  table[method] = async (args, kwargs) => {
    counter.runs++;
    await gate;
    const result = await original(args, kwargs);
    const requestId = (kwargs._ctx as { requestId: string }).requestId;
    return method === "execute_instructions" ? { ...(result as Execution), requestId } : result;
  };
  cleanups.push(() => counter.release());
  return counter;
}

async function gatewayFor(b: FakeBackend, extra: Parameters<typeof testConfig>[1]) {
  const g = await startGateway(testConfig(b, extra));
  cleanups.push(() => g.close());
  return { ...g, token: await login(g.url, "trader1", "trader123") };
}

describe("ZMQ_DEDUPE_WRITES=true (workers with a reply cache)", () => {
  it("a write slower than its budget: OUTCOME_UNKNOWN, and a repeat is sent again and joined, never run twice", async () => {
    const b = await backend();
    const execute = stall(b, "instruction_service", "execute_instructions");
    const g = await gatewayFor(b, { dedupeWrites: true, zmqTimeout: 500, zmqRetries: 2 });

    const first = await executeRest(g.url, g.token, "d-slow");
    expect(first.status).toBe(504);
    expect(first.body.data).toMatchObject({ outcome: "unknown", clientOrderId: "d-slow" });
    expect(first.body.message).toContain("answered by the trading system's reply cache");
    // Unlike a backend without a cache: the gateway does not answer the repeat itself, it asks again.
    const joinedBefore = b.brokerStats().joined;
    const repeat = executeRest(g.url, g.token, "d-slow");
    await waitFor(() => b.brokerStats().joined > joinedBefore, "the repeat joined to the running execution");
    execute.release();
    const answer = await repeat;
    expect(answer.status).toBe(200);
    expect(answer.body.requestId).toBe(first.body.data.requestId);
    expect(execute.runs).toBe(1);
    console.info(
      `[dedupe: write slower than its budget] executions ${execute.runs}; answers: ${answerOfRest(first)}, repeat ${answerOfRest(answer)} (joined at the broker, ${b.brokerStats().joined - joinedBefore} join)`,
    );
  });

  it("writes while no worker is registered: 503 naming it, and not executed when a worker comes", async () => {
    const b = await backend();
    let runs = 0;
    const execute = b.handlers.instruction_service.execute_instructions;
    b.handlers.instruction_service.execute_instructions = (args, kwargs) => {
      runs++;
      return execute(args, kwargs);
    };
    await b.stopWorker("instruction_service");
    const g = await gatewayFor(b, { dedupeWrites: true, zmqTimeout: 400, zmqRetries: 2 });
    const answers = await Promise.all([executeRest(g.url, g.token, "d-none-1"), executeRest(g.url, g.token)]);
    for (const a of answers) {
      expect(a.status).toBe(503);
      expect(a.body.message).toBe("instruction_service is unavailable: no worker is registered with the broker");
    }
    // Withdrawn when their caller was told (mmi.cancel at TIMEOUT): nothing waits for the worker.
    await waitFor(() => b.brokerStats().cancelled >= 2, "both withdrawn");
    await b.startWorker("instruction_service");
    await waitFor(() => b.brokerStats().services.instruction_service?.idle === 2, "the worker registered, idle");
    expect(b.brokerStats().services.instruction_service?.queued).toBe(0);
    expect(runs).toBe(0);
    console.info(
      `[dedupe: writes with no worker registered] answers ${JSON.stringify(tally(answers.map((a) => ({ kind: "write", answer: answerOfRest(a) }))))}; executed later: ${runs}`,
    );
  });

  it("SIGTERM with 100 callers in flight against a stalled backend (20 executes): every caller answered, none run twice", async () => {
    const b = await backend();
    const reads = stall(b, "account_service", "get_account");
    const executes = stall(b, "instruction_service", "execute_instructions");
    const processes: NodeProcess[] = [];
    cleanups.push(() => {
      for (const p of processes) if (p.child.exitCode === null) p.child.kill("SIGKILL");
    });
    const g = await startGatewayProcess(
      {
        ZMQ_BROKER_URL: b.brokerUrl,
        ZMQ_PUB_URL: b.pubUrl,
        ZMQ_DEDUPE_WRITES: "true",
        ZMQ_TIMEOUT: "10000",
        ZMQ_RETRIES: "2",
      },
      (p) => processes.push(p),
    );
    const token = await login(g.url, "trader1", "trader123");
    const ws = wsOnlyClient(g.wsUrl, token);
    cleanups.push(() => ws.close());

    const calls = hundredCallers({ url: g.url, token }, ws.client);
    // Two of each running (two worker sockets per service), the rest queued.
    await waitFor(() => {
      const s = b.brokerStats().services;
      return s.account_service?.queued === 78 && s.instruction_service?.queued === 18;
    }, "80 reads and 20 executes at the broker");
    g.child.kill("SIGTERM");
    const answers = await Promise.all(calls);
    expect(await g.exited).toBe(0);

    const counts = tally(answers);
    expect(counts).toEqual({
      "read 503 SERVICE_UNAVAILABLE": 80,
      "write 503 SERVICE_UNAVAILABLE": 18,
      "write 504 GATEWAY_TIMEOUT": 2,
    });
    for (const a of answers.filter((x) => x.answer.startsWith("504")))
      expect(a.body?.data).toMatchObject({ outcome: "unknown", method: "execute_instructions" });

    // The two held finish; the 18 withdrawn never reach a worker.
    reads.release();
    executes.release();
    await waitFor(() => {
      const s = b.brokerStats().services.instruction_service;
      return s?.idle === 2 && s.queued === 0;
    }, "the workers idle, nothing queued");
    expect(executes.runs).toBe(2);
    console.info(
      `[dedupe: SIGTERM, 100 callers (70 REST, 30 WebSocket), stalled backend] answers ${JSON.stringify(counts)}; executes run: ${executes.runs}, reads run: ${reads.runs}; broker cancelled ${b.brokerStats().cancelled}; gateway exit 0`,
    );
  }, 60_000);
});

describe("ZMQ_DEDUPE_WRITES=false: an unknown outcome learnt from the execution topic", () => {
  it("a repeat of the clientOrderId gets the execution once an execution event carries its requestId", async () => {
    const b = await backend();
    const execute = stall(b, "instruction_service", "execute_instructions");
    const g = await gatewayFor(b, { dedupeWrites: false, zmqTimeout: 500, zmqRetries: 2 });

    const first = await executeRest(g.url, g.token, "topic-1");
    expect(first.status).toBe(504);
    const { requestId } = first.body.data as { requestId: string };
    expect((await executeRest(g.url, g.token, "topic-1")).status).toBe(504);

    // What the trading system publishes as the execution it started for that request moves on.
    const event = (seq: number) => ({
      seq,
      ts: new Date().toISOString(),
      executionId: "ex-topic",
      execution: { ...execution("ex-topic", "running", false), progress: 0.5, requestId },
    });
    let seq = 0;
    await waitFor(async () => {
      await b.publish("execution.ex-topic", event(++seq));
      const text = (await rest(g.url, "GET", "/metrics")).body as string;
      return metric(text, "gateway_write_outcomes_learnt_total", 'source="execution_topic"') === 1;
    }, "the execution event learnt");
    const repeat = await executeRest(g.url, g.token, "topic-1");
    expect(repeat.status).toBe(200);
    expect(repeat.body).toMatchObject({ id: "ex-topic", requestId, progress: 0.5 });
    expect(execute.runs).toBe(1);
    console.info(
      `[unknown outcome learnt from execution.<id>] executions ${execute.runs}; answers: ${answerOfRest(first)}, repeat after the event ${answerOfRest(repeat)}`,
    );
  });
});

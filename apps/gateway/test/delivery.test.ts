/**
 * Delivery through a real gateway process, our broker, and python-scripts/plain_worker.py:
 * workers that keep no reply cache and send nothing while busy, as the desk's trading
 * system may be (ZMQ_DEDUPE_WRITES=false, the default). Executions are counted from the
 * workers' own logs; each scenario prints its counts (executions, answers by code).
 */
import { MdpBroker } from "@desk/mdp";
import { type NodeProcess, freePort, pythonForSuite, waitFor } from "@desk/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { answerOfRest, executeRest, hundredCallers, metric, tally, wsOnlyClient } from "./helpers/delivery.js";
import { startGatewayProcess } from "./helpers/gateway-process.js";
import { PlainWorkers } from "./helpers/plain-workers.js";
import { login, rest } from "./helpers/stack.js";

const python = pythonForSuite("gateway delivery", ["zmq"]);

describe.skipIf(python === undefined)(
  "writes at most once through a gateway process (workers without a reply cache)",
  () => {
    let workers: PlainWorkers;
    let broker: MdpBroker;
    let brokerUrl: string;
    const processes: NodeProcess[] = [];
    const closers: Array<() => Promise<void>> = [];

    beforeEach(async () => {
      workers = new PlainWorkers(python as string);
      broker = new MdpBroker({ heartbeatInterval: 500, liveness: 5 });
      brokerUrl = await broker.bind("tcp://127.0.0.1:*");
    });
    afterEach(async () => {
      for (const close of closers.splice(0)) await close().catch(() => {});
      for (const p of processes.splice(0)) if (p.child.exitCode === null) p.child.kill("SIGKILL");
      workers.closeAll();
      await broker.close();
    });

    const service = (name: string) => broker.stats().services[name];

    async function gateway(env: Record<string, string>) {
      await workers.start(brokerUrl, "auth_service");
      const g = await startGatewayProcess(
        { ZMQ_BROKER_URL: brokerUrl, ZMQ_PUB_URL: `tcp://127.0.0.1:${await freePort()}`, ...env },
        (p) => processes.push(p),
      );
      const token = await login(g.url, "trader1", "trader123");
      return { ...g, token };
    }

    it("a worker killed -9 mid-execute, a spare idle: OUTCOME_UNKNOWN with its ids, run once, a repeat not sent again", async () => {
      const first = await workers.start(brokerUrl, "instruction_service", { delay: 30_000 });
      const spare = await workers.start(brokerUrl, "instruction_service", { delay: 30_000 });
      await waitFor(() => service("instruction_service")?.idle === 2, "two idle instruction workers");
      const g = await gateway({ ZMQ_TIMEOUT: "3000", ZMQ_RETRIES: "3" });

      const started = Date.now();
      const call = executeRest(g.url, g.token, "kill-1");
      const [ran] = await waitFor(() => {
        const list = workers.executions("execute_instructions");
        return list.length > 0 && list;
      }, "the execute to reach a worker");
      const victim = ran!.pid === first.pid ? first : spare;
      victim.kill("SIGKILL");
      const answer = await call;
      const elapsed = Date.now() - started;

      expect(answer.status).toBe(504);
      expect(answer.body.code).toBe("GATEWAY_TIMEOUT");
      expect(answer.body.data).toMatchObject({
        outcome: "unknown",
        requestId: ran!.requestId,
        clientOrderId: "kill-1",
        service: "instruction_service",
        method: "execute_instructions",
      });
      expect(answer.body.message).toContain("Check before you send it again");
      // The broker found the dead worker at once: the caller did not wait out the budget (3 x 3 s).
      expect(elapsed).toBeLessThan(9_000);

      const repeat = await executeRest(g.url, g.token, "kill-1");
      expect(repeat.status).toBe(504);
      expect(repeat.body.data).toEqual(answer.body.data);

      expect(workers.executions("execute_instructions"), "the write ran once").toHaveLength(1);
      // The spare is idle with nothing queued: the write was not handed to it, then or now.
      await waitFor(() => {
        const s = service("instruction_service");
        return s?.workers === 1 && s.idle === 1 && s.queued === 0;
      }, "the spare idle, nothing queued");
      const executions = workers.executions("execute_instructions");
      expect(executions).toHaveLength(1);
      const metrics = (await rest(g.url, "GET", "/metrics")).body as string;
      expect(metric(metrics, "gateway_mdp_outcome_unknown")).toBe(1);
      expect(metric(metrics, "gateway_write_repeats_total", 'answer="outcome_unknown"')).toBe(1);
      console.info(
        `[kill -9 mid-execute, spare idle] executions ${executions.length}; answers: first ${answerOfRest(answer)} in ${elapsed} ms, repeat ${answerOfRest(repeat)}; broker workersLost ${broker.stats().workersLost}`,
      );
    }, 60_000);

    it("a repeat of a clientOrderId that succeeded gets the same execution, never a second one", async () => {
      await workers.start(brokerUrl, "instruction_service");
      const g = await gateway({ ZMQ_TIMEOUT: "3000", ZMQ_RETRIES: "2" });
      const first = await executeRest(g.url, g.token, "ok-1");
      const again = await executeRest(g.url, g.token, "ok-1");
      const other = await executeRest(g.url, g.token, "ok-2");
      expect(first.status).toBe(200);
      expect(again.status).toBe(200);
      expect(again.body).toEqual(first.body);
      expect(other.body.id).not.toBe(first.body.id);
      const executions = workers.executions("execute_instructions");
      expect(executions.map((e) => e.requestId)).toEqual([first.body.requestId, other.body.requestId]);
      console.info(
        `[repeat of a clientOrderId that succeeded] executions ${executions.length} for 3 calls (2 keys); answers ${answerOfRest(first)}, ${answerOfRest(again)}, ${answerOfRest(other)}`,
      );
    }, 60_000);

    it("a write slower than its budget: OUTCOME_UNKNOWN, then the late reply is learnt and a repeat gets the execution", async () => {
      await workers.start(brokerUrl, "instruction_service", { delay: 4_000 });
      const g = await gateway({ ZMQ_TIMEOUT: "1000", ZMQ_RETRIES: "2" });

      const first = await executeRest(g.url, g.token, "slow-1");
      expect(first.status).toBe(504);
      expect(first.body.data).toMatchObject({ outcome: "unknown", clientOrderId: "slow-1" });
      const early = await executeRest(g.url, g.token, "slow-1");
      expect(early.status).toBe(504);

      await waitFor(
        async () =>
          metric(
            (await rest(g.url, "GET", "/metrics")).body,
            "gateway_write_outcomes_learnt_total",
            'source="late_reply"',
          ) === 1,
        "the late reply learnt",
      );
      const late = await executeRest(g.url, g.token, "slow-1");
      expect(late.status).toBe(200);
      expect(late.body.id).toBe(`ex-${first.body.data.requestId}`);
      const executions = workers.executions("execute_instructions");
      expect(executions).toHaveLength(1);
      console.info(
        `[4 s write against 2 x 1 s tries] executions ${executions.length}; answers: ${answerOfRest(first)}, repeat before the reply ${answerOfRest(early)}, repeat after it ${answerOfRest(late)}`,
      );
    }, 60_000);

    it("writes while no worker is registered: a definite 503, never executed later; the same key sent again then runs once", async () => {
      const g = await gateway({ ZMQ_TIMEOUT: "1000", ZMQ_RETRIES: "2" });
      const answers = await Promise.all([
        executeRest(g.url, g.token, "none-1"),
        executeRest(g.url, g.token, "none-2"),
        executeRest(g.url, g.token),
        rest(g.url, "POST", "/api/v1/accounts/account1/enabled", { token: g.token, body: { enabled: false } }),
      ]);
      for (const a of answers) {
        expect(a.status).toBe(503);
        expect(a.body.code).toBe("SERVICE_UNAVAILABLE");
        expect(a.body.message).toContain("it was not executed");
      }
      // Withdrawn from the broker's queue at their deadline: nothing is left for a worker.
      await workers.start(brokerUrl, "instruction_service");
      await workers.start(brokerUrl, "account_service");
      await waitFor(() => {
        const [i, a] = [service("instruction_service"), service("account_service")];
        return i?.idle === 1 && i.queued === 0 && a?.idle === 1 && a.queued === 0;
      }, "workers registered and idle, nothing queued");
      const queuedWrites = workers
        .executions()
        .filter((e) => e.method !== "authenticate" && e.method !== "get_user_permissions");
      expect(queuedWrites).toHaveLength(0);

      // A definite failure is not remembered: the same clientOrderId is sent now, and runs once.
      const retry = await executeRest(g.url, g.token, "none-1");
      expect(retry.status).toBe(200);
      expect(workers.executions("execute_instructions")).toHaveLength(1);
      console.info(
        `[writes with no worker registered] answers ${JSON.stringify(tally(answers.map((a) => ({ kind: "write", answer: answerOfRest(a) }))))}; executed later: ${queuedWrites.length}; broker cancelled ${broker.stats().cancelled}; the key again: ${answerOfRest(retry)}, executions 1`,
      );
    }, 60_000);

    it("SIGTERM with 100 callers in flight against a stalled backend (20 executes): every caller gets a typed answer, no execute runs twice or later", async () => {
      await workers.start(brokerUrl, "account_service", { delay: 60_000 });
      await workers.start(brokerUrl, "instruction_service", { delay: 60_000 });
      const g = await gateway({ ZMQ_TIMEOUT: "10000", ZMQ_RETRIES: "2" });
      const ws = wsOnlyClient(g.wsUrl, g.token);
      closers.push(() => ws.close());

      const calls = hundredCallers(g, ws.client);
      // All 100 at the broker: one of each kind running, the rest queued behind it.
      await waitFor(() => {
        const [a, i] = [service("account_service"), service("instruction_service")];
        return a?.queued === 79 && i?.queued === 19;
      }, "80 reads and 20 executes at the broker");

      g.child.kill("SIGTERM");
      const answers = await Promise.all(calls);
      expect(await g.exited).toBe(0);

      const counts = tally(answers.map((a) => ({ kind: a.kind, answer: a.answer })));
      const unknown = answers.filter((a) => a.answer === "504 GATEWAY_TIMEOUT");
      expect(counts).toEqual({
        "read 503 SERVICE_UNAVAILABLE": 80,
        "write 503 SERVICE_UNAVAILABLE": 19,
        "write 504 GATEWAY_TIMEOUT": 1,
      });
      expect(unknown[0]?.body?.data).toMatchObject({ outcome: "unknown", method: "execute_instructions" });
      for (const a of answers.filter((x) => x.answer === "503 SERVICE_UNAVAILABLE"))
        expect(a.body?.message).toContain(a.kind === "write" ? "shutting down; it was not executed" : "shutting down");

      // Nothing left behind: a fresh worker finds no write queued, and none ran but the one held.
      await workers.start(brokerUrl, "instruction_service");
      await waitFor(() => {
        const s = service("instruction_service");
        return s?.idle === 1 && s.queued === 0;
      }, "the fresh worker idle, nothing queued");
      const executions = workers.executions("execute_instructions");
      expect(executions).toHaveLength(1);
      console.info(
        `[SIGTERM, 100 callers (70 REST, 30 WebSocket), stalled backend] answers ${JSON.stringify(counts)}; executes run: ${executions.length}; broker cancelled ${broker.stats().cancelled}; gateway exit 0`,
      );
    }, 60_000);
  },
);

import { afterEach, describe, expect, it } from "vitest";
import { MdpError } from "../src/index.js";
import { Harness, echo, waitFor } from "./helpers.js";

const h = new Harness();
afterEach(() => h.closeAll());

describe("request/reply through the broker", () => {
  it("echoes one request", async () => {
    const { url } = await h.broker();
    await h.worker(url, "echo", echo);
    const client = h.client(url);
    const reply = await client.request("echo", Buffer.from("hello"));
    expect(reply.toString()).toBe("hello");
    expect(client.stats()).toMatchObject({ inFlight: 0, replies: 1, sent: 1 });
  });

  it("answers 1,000 concurrent requests, each with its own reply", async () => {
    const { url, broker } = await h.broker();
    await h.worker(url, "upper", (p, ctx) => Buffer.from(`${ctx.requestId}:${p.toString().toUpperCase()}`), {
      concurrency: 4,
    });
    const client = h.client(url, { timeout: 10_000 });
    const ids = Array.from({ length: 1000 }, () => client.nextRequestId());
    const replies = await Promise.all(
      ids.map((id, i) => client.request("upper", Buffer.from(`msg-${i}`), { requestId: id })),
    );
    for (const [i, r] of replies.entries()) expect(r.toString()).toBe(`${ids[i]}:MSG-${i}`);
    expect(client.stats()).toMatchObject({ inFlight: 0, replies: 1000, lateReplies: 0, timeouts: 0 });
    expect(broker.stats().replies).toBe(1000);
  });

  it("passes the requestId and client identity to the handler", async () => {
    const { url } = await h.broker();
    let seen: { requestId: string; service: string; client: Buffer } | undefined;
    await h.worker(url, "ctx", (p, ctx) => {
      seen = ctx;
      return p;
    });
    const client = h.client(url);
    await client.request("ctx", Buffer.from("x"), { requestId: "my-id-1" });
    expect(seen?.requestId).toBe("my-id-1");
    expect(seen?.service).toBe("ctx");
    expect(seen?.client.length).toBeGreaterThan(0);
  });

  it("sends errorReply when the handler throws, and keeps serving", async () => {
    const { url } = await h.broker();
    await h.worker(
      url,
      "flaky",
      (p) => {
        if (p.toString() === "boom") throw new Error("kaput");
        return p;
      },
      { errorReply: (err) => Buffer.from(`ERR ${(err as Error).message}`) },
    );
    const client = h.client(url);
    expect((await client.request("flaky", Buffer.from("boom"))).toString()).toBe("ERR kaput");
    expect((await client.request("flaky", Buffer.from("ok"))).toString()).toBe("ok");
  });

  it("answers a repeated requestId from the worker's reply cache", async () => {
    const { url } = await h.broker();
    let executions = 0;
    const worker = await h.worker(url, "count", () => Buffer.from(String(++executions)), { concurrency: 2 });
    const client = h.client(url);
    const a = await client.request("count", Buffer.from("x"), { requestId: "w-1" });
    const b = await client.request("count", Buffer.from("x"), { requestId: "w-1" });
    expect(a.toString()).toBe("1");
    expect(b.toString()).toBe("1");
    expect(executions).toBe(1);
    expect(worker.stats()).toMatchObject({ handled: 1, cacheHits: 1 });
  });

  it("rejects bad input with clear errors", async () => {
    const { url } = await h.broker();
    const client = h.client(url);
    await expect(client.request("", Buffer.from("x"))).rejects.toThrow(TypeError);
    await expect(client.request("svc", "nope" as unknown as Uint8Array)).rejects.toThrow(/Uint8Array/);
    expect(() => h.client("")).toThrow(/endpoint/);
  });

  it("supports AbortSignal: a read is ABORTED, a write that left is OUTCOME_UNKNOWN", async () => {
    const { url, broker } = await h.broker();
    const client = h.client(url, { timeout: 5000 });
    const ac = new AbortController();
    const read = client.request("nobody", Buffer.from("x"), { signal: ac.signal, idempotent: true });
    const write = client.request("nobody", Buffer.from("w"), { signal: ac.signal, requestId: "w-abort" });
    await waitFor(() => broker.stats().services.nobody?.queued === 2, "both queued at the broker");
    ac.abort();
    await expect(read).rejects.toMatchObject({ code: "ABORTED" });
    // It reached the broker: whether it runs is not this client's to know any more.
    await expect(write).rejects.toMatchObject({ code: "OUTCOME_UNKNOWN", requestId: "w-abort" });
    expect(client.stats().inFlight).toBe(0);
    // ...but the client asked our broker to withdraw it, so it will not run later.
    await waitFor(() => broker.stats().cancelled === 1, "the aborted write withdrawn");
  });

  it("close() rejects pending reads with CLOSED, sent writes with OUTCOME_UNKNOWN, and does not hang", async () => {
    const { url, broker } = await h.broker();
    const client = h.client(url, { timeout: 60_000 });
    const reads = [
      client.request("nobody", Buffer.from("a"), { idempotent: true }),
      client.request("nobody", Buffer.from("b"), { idempotent: true }),
    ];
    const write = client.request("nobody", Buffer.from("c"));
    // At the broker: a write still waiting for the connection would (rightly) end CLOSED.
    await waitFor(() => broker.stats().services.nobody?.queued === 3, "requests at the broker");
    await client.close();
    for (const p of reads) {
      const err = await p.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MdpError);
      expect((err as MdpError).code).toBe("CLOSED");
    }
    await expect(write).rejects.toMatchObject({ code: "OUTCOME_UNKNOWN" });
    await expect(client.request("x", Buffer.from("y"))).rejects.toMatchObject({ code: "CLOSED" });
  });

  it("close({ withdrawWithin }) withdraws what is still queued (EXPIRED, never run); a write a worker holds stays OUTCOME_UNKNOWN", async () => {
    const { url, broker } = await h.broker();
    const ran: string[] = [];
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    await h.worker(url, "slow", async (payload) => {
      ran.push(payload.toString());
      await held;
      return payload;
    });
    const client = h.client(url, { timeout: 60_000 });
    await waitFor(() => client.stats().brokerExtensions === "yes", "the session declared");
    // Outcomes caught at once: close() rejects them before the assertions look.
    const running = client.request("slow", Buffer.from("w1"), { requestId: "w1" }).catch((e: unknown) => e);
    await waitFor(() => ran.length === 1, "the first write at the worker");
    const queued = [
      client.request("slow", Buffer.from("w2"), { requestId: "w2" }).catch((e: unknown) => e),
      client.request("slow", Buffer.from("r1"), { requestId: "r1", idempotent: true }).catch((e: unknown) => e),
    ];
    await waitFor(() => broker.stats().services.slow?.queued === 2, "two requests queued behind it");
    await client.close({ withdrawWithin: 5_000 });
    expect(await running).toMatchObject({ code: "OUTCOME_UNKNOWN", requestId: "w1" });
    for (const p of queued) expect(await p).toMatchObject({ code: "EXPIRED" });
    expect(client.stats().withdrawn).toBe(1);
    expect(broker.stats().cancelled).toBe(2);
    // The worker is free again and nothing is left for it: the withdrawn never run.
    release();
    await waitFor(() => broker.stats().services.slow?.idle === 1, "the worker idle again");
    expect(broker.stats().services.slow?.queued).toBe(0);
    expect(ran).toEqual(["w1"]);
  });
});

import type { Dealer } from "zeromq";
import { afterEach, describe, expect, it } from "vitest";
import { MdpError } from "../src/index.js";
import { C, Harness, W, cmd, echo, waitFor } from "./helpers.js";

const h = new Harness();
afterEach(() => h.closeAll());

async function receiveWithin(d: Dealer, ms: number): Promise<Buffer[]> {
  d.receiveTimeout = ms;
  return d.receive();
}

describe("broker input validation", () => {
  it("drops and counts malformed frames and wrong protocol headers, and keeps serving", async () => {
    const { url, broker } = await h.broker();
    await h.worker(url, "echo", echo);
    const d = h.rawDealer(url);
    const garbage: Array<Array<string | Buffer>> = [
      ["x"], // no delimiter, no protocol
      ["not-empty", C, "echo", "id", "x"], // non-empty delimiter
      ["", "MDPC02", "echo", "id", "x"], // wrong client protocol version
      ["", "HTTP/1.1 GET /"], // not MDP at all
      ["", C], // no service
      ["", C, "echo"], // no body
      ["", W], // no command
      ["", W, Buffer.from([1, 2])], // command frame too long
      ["", W, cmd(0x09)], // unknown command from an unknown worker
      ["", W, cmd(0x03), "client", "", "id", "x"], // REPLY from an unknown worker
      ["", W, cmd(0x04)], // HEARTBEAT from an unknown worker
    ];
    for (const msg of garbage) await d.send(msg);
    const client = h.client(url);
    expect((await client.request("echo", Buffer.from("still here"))).toString()).toBe("still here");
    const s = broker.stats();
    expect(s.malformed).toBe(6);
    expect(s.badProtocol).toBe(2);
    expect(s.unknownWorker).toBe(3);
    expect(s.dropped).toBe(11);
  });

  it("answers MALFORMED for an empty service name", async () => {
    const { url } = await h.broker();
    const d = h.rawDealer(url);
    await d.send(["", C, "", "rid-1", "x"]);
    const reply = await receiveWithin(d, 3000);
    expect(reply.map(String)).toEqual(["", C, "", "rid-1", "MDPERR", "MALFORMED", "service name must be 1..255 bytes"]);
  });

  it("survives DISCONNECT from an idle worker and disconnects a worker that sends READY twice", async () => {
    const { url, broker } = await h.broker();
    const idle = h.rawDealer(url);
    await idle.send(["", W, cmd(0x01), "svc"]);
    await waitFor(() => broker.stats().services.svc?.workers === 1, "raw worker registered");
    await idle.send(["", W, cmd(0x05)]);
    await waitFor(() => broker.stats().idleDisconnects === 1, "idle disconnect handled");
    expect(broker.stats().services.svc?.workers ?? 0).toBe(0);

    const twice = h.rawDealer(url);
    await twice.send(["", W, cmd(0x01), "svc"]);
    await waitFor(() => broker.stats().services.svc?.workers === 1, "second raw worker registered");
    await twice.send(["", W, cmd(0x01), "svc"]);
    // Heartbeats may arrive first; the DISCONNECT must follow.
    for (;;) {
      const msg = await receiveWithin(twice, 3000);
      if (msg[2]?.[0] === 0x05) break;
    }
    expect(broker.stats().protocolErrors).toBe(1);
    expect(broker.stats().services.svc?.workers ?? 0).toBe(0);
  });

  it("disconnects a worker that replies without a request, and a worker that sends REQUEST", async () => {
    const { url, broker } = await h.broker();
    const w1 = h.rawDealer(url);
    await w1.send(["", W, cmd(0x01), "svc"]);
    await waitFor(() => broker.stats().services.svc?.workers === 1, "registered");
    await w1.send(["", W, cmd(0x03), "someone", "", "id", "x"]);
    await waitFor(() => broker.stats().replyWithoutRequest === 1, "reply without request counted");
    const w2 = h.rawDealer(url);
    await w2.send(["", W, cmd(0x01), "svc"]);
    await waitFor(() => broker.stats().services.svc?.workers === 1, "registered again");
    await w2.send(["", W, cmd(0x02), "client", "", "id", "x"]);
    await waitFor(() => broker.stats().protocolErrors === 2, "REQUEST from a worker counted");
    expect(broker.stats().services.svc?.workers ?? 0).toBe(0);
  });

  it("a busy worker that disconnects costs its client WORKER_LOST, a read retried with the same id", async () => {
    const { url, broker } = await h.broker();
    const rogue = h.rawDealer(url);
    await rogue.send(["", W, cmd(0x01), "svc"]);
    await waitFor(() => broker.stats().services.svc?.workers === 1, "registered");
    const client = h.client(url, { timeout: 5000, retries: 2 });
    const pending = client.request("svc", Buffer.from("x"), { requestId: "keep-me", idempotent: true });
    const req = await receiveWithin(rogue, 3000);
    expect(req.map(String).slice(-2)).toEqual(["keep-me", "x"]);
    await rogue.send(["", W, cmd(0x05)]); // leaves mid-request
    // The client retried at once with the same id; a real worker now takes it.
    let seenId = "";
    await h.worker(url, "svc", (p, ctx) => {
      seenId = ctx.requestId;
      return p;
    });
    expect((await pending).toString()).toBe("x");
    expect(seenId).toBe("keep-me");
    expect(broker.stats().workersLost).toBe(1);
    expect(client.stats()).toMatchObject({ brokerErrors: 1, retries: 1, timeouts: 0 });
  });
});

describe("retried writes", () => {
  it("a write whose busy worker disconnects is not retried: OUTCOME_UNKNOWN at once", async () => {
    const { url, broker } = await h.broker();
    const rogue = h.rawDealer(url);
    await rogue.send(["", W, cmd(0x01), "svc"]);
    await waitFor(() => broker.stats().services.svc?.workers === 1, "registered");
    let executions = 0;
    await h.worker(url, "svc", (p) => {
      executions++;
      return p;
    });
    await waitFor(() => broker.stats().services.svc?.workers === 2, "spare registered");
    const client = h.client(url, { timeout: 5000, retries: 3 });
    // The rogue registered first, so it is the least recently used idle worker and gets it.
    const pending = client.request("svc", Buffer.from("order"), { requestId: "order-1" });
    await receiveWithin(rogue, 3000);
    await rogue.send(["", W, cmd(0x05)]);
    await expect(pending).rejects.toMatchObject({ code: "OUTCOME_UNKNOWN", requestId: "order-1", tries: 1 });
    expect(executions).toBe(0);
    expect(client.stats()).toMatchObject({ outcomeUnknown: 1, retries: 0 });
  });

  it("a retry that arrives while the first try still runs joins it instead of executing again", async () => {
    const { url, broker } = await h.broker();
    let executions = 0;
    const worker = await h.worker(
      url,
      "write",
      async (p) => {
        executions++;
        await new Promise((r) => setTimeout(r, 700));
        return p;
      },
      { concurrency: 3 },
    );
    const client = h.client(url, { timeout: 200, retries: 10 });
    // idempotent: this backend deduplicates by requestId, so retries are allowed.
    const reply = await client.request("write", Buffer.from("order-1"), { requestId: "w-42", idempotent: true });
    expect(reply.toString()).toBe("order-1");
    expect(executions).toBe(1);
    expect(client.stats().retries).toBeGreaterThan(0);
    // The broker joined the retries (same session, new sockets) instead of queueing copies.
    expect(broker.stats().joined).toBeGreaterThan(0);
    expect(worker.stats().handled).toBe(1);
  });

  it("WORKER_LOST on the last try surfaces as MdpError WORKER_LOST", async () => {
    const { url, broker } = await h.broker();
    const rogue = h.rawDealer(url);
    await rogue.send(["", W, cmd(0x01), "svc"]);
    await waitFor(() => broker.stats().services.svc?.workers === 1, "registered");
    const client = h.client(url, { timeout: 5000, retries: 1 });
    const pending = client.request("svc", Buffer.from("x"), { idempotent: true });
    await receiveWithin(rogue, 3000);
    await rogue.send(["", W, cmd(0x05)]);
    await expect(pending).rejects.toMatchObject({ code: "WORKER_LOST", tries: 1, service: "svc" });
  });
});

describe("queue bounds and mmi", () => {
  it("expires a queued request when no worker takes it within requestTtl", async () => {
    const { url, broker } = await h.broker({ requestTtl: 200 });
    const client = h.client(url, { timeout: 5000, retries: 1 });
    const err = await client.request("nobody", Buffer.from("x")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MdpError);
    expect(err).toMatchObject({ code: "EXPIRED", service: "nobody" });
    expect(broker.stats().expired).toBe(1);
  });

  it("queues requests until a worker comes up", async () => {
    const { url, broker } = await h.broker({ requestTtl: 10_000 });
    const client = h.client(url, { timeout: 10_000 });
    const pending = client.request("later", Buffer.from("queued"));
    await waitFor(() => broker.stats().services.later?.queued === 1, "request queued");
    await h.worker(url, "later", echo);
    expect((await pending).toString()).toBe("queued");
  });

  it("answers QUEUE_FULL beyond maxQueue", async () => {
    const { url, broker } = await h.broker({ maxQueue: 2, requestTtl: 10_000 });
    const client = h.client(url, { timeout: 10_000, retries: 1 });
    const queued = [client.request("q", Buffer.from("1")), client.request("q", Buffer.from("2"))];
    await waitFor(() => broker.stats().services.q?.queued === 2, "two queued");
    await expect(client.request("q", Buffer.from("3"))).rejects.toMatchObject({ code: "QUEUE_FULL" });
    expect(broker.stats().queueFull).toBe(1);
    await h.worker(url, "q", echo);
    expect((await Promise.all(queued)).map(String)).toEqual(["1", "2"]);
  });

  it("bounds queues across services: made-up service names cannot queue without limit", async () => {
    const { url, broker } = await h.broker({
      maxQueue: 2,
      maxQueueTotal: 3,
      maxQueueUnserved: 10,
      maxQueuePerClient: 10,
      requestTtl: 10_000,
    });
    const client = h.client(url, { timeout: 10_000, retries: 1 });
    const queued = ["a", "b", "c"].map((name) => client.request(name, Buffer.from(name)));
    await waitFor(() => Object.values(broker.stats().services).reduce((n, s) => n + s.queued, 0) === 3, "three queued");
    await expect(client.request("d", Buffer.from("d"))).rejects.toMatchObject({ code: "QUEUE_FULL" });
    expect(broker.stats().services.d).toBeUndefined();
    for (const name of ["a", "b", "c"]) await h.worker(url, name, echo);
    expect((await Promise.all(queued)).map(String)).toEqual(["a", "b", "c"]);
    // Dispatched requests free their places.
    expect(String(await client.request("a", Buffer.from("again")))).toBe("again");
  });

  it("mmi.service: 200 only with a live worker, 404 otherwise, 501 for unknown mmi.*", async () => {
    const { url, broker } = await h.broker();
    const client = h.client(url);
    expect(await client.mmi("echo")).toBe("404");
    const worker = await h.worker(url, "echo", echo);
    await waitFor(() => broker.stats().services.echo?.workers === 1, "worker registered");
    expect(await client.mmi("echo")).toBe("200");
    expect((await client.request("mmi.nonsense", Buffer.from("echo"))).toString()).toBe("501");
    await worker.close();
    await waitFor(() => (broker.stats().services.echo?.workers ?? 0) === 0, "worker gone");
    expect(await client.mmi("echo")).toBe("404");
  });
});

import { afterEach, describe, expect, it } from "vitest";
import { C, Harness, W, cmd, echo, waitFor } from "./helpers.js";

const h = new Harness();
afterEach(() => h.closeAll());

const TOKEN_A = "a".repeat(32);
const TOKEN_H = "h".repeat(32);
const text = (msg: Buffer[]): string[] => msg.map(String);

describe("joins: a retry never becomes a second execution", () => {
  it("the same (socket, requestId) queued twice is joined: one execution, one answer", async () => {
    const { url, broker } = await h.broker();
    const d = h.rawDealer(url);
    await d.send(["", C, "svc", "r-1", "x"]);
    await d.send(["", C, "svc", "r-1", "x"]);
    await waitFor(() => broker.stats().joined === 1, "second one joined");
    let executions = 0;
    await h.worker(url, "svc", (p) => {
      executions++;
      return p;
    });
    expect(text(await d.receive())).toEqual(["", C, "svc", "r-1", "x"]);
    expect(executions).toBe(1);
    expect(broker.stats()).toMatchObject({ requests: 2, joined: 1, replies: 1 });
  });

  it("a reconnected client (new socket, same session) joins, and the answer goes to the new socket", async () => {
    const { url, broker } = await h.broker();
    const first = h.rawDealer(url);
    await first.send(["", C, "mmi.session", "m-1", TOKEN_A]);
    expect(text(await first.receive())).toEqual(["", C, "mmi.session", "m-1", "200"]);
    await first.send(["", C, "svc", "r-1", "x"]); // a read: the client will retry it
    await first.send(["", C, "svc", "w-1", "y"]); // a write: the client will not send it again
    await waitFor(() => broker.stats().services.svc?.queued === 2, "queued");
    const second = h.rawDealer(url);
    await second.send(["", C, "mmi.session", "m-2", TOKEN_A]);
    await second.send(["", C, "svc", "r-1", "x"]);
    await waitFor(() => broker.stats().joined === 1, "retry joined");
    await h.worker(url, "svc", echo);
    expect(text(await second.receive()).slice(-3)).toEqual(["mmi.session", "m-2", "200"]);
    // Both answers follow the session to its newest socket, the write's too though it never asked there.
    const answers = [text(await second.receive()), text(await second.receive())];
    expect(answers).toEqual([
      ["", C, "svc", "r-1", "x"],
      ["", C, "svc", "w-1", "y"],
    ]);
    first.receiveTimeout = 300;
    await expect(first.receive()).rejects.toThrow(); // nothing for the old socket
  });

  it("a peer reusing someone's requestId without their session token is a separate request: it cannot join or steal", async () => {
    const { url, broker } = await h.broker();
    const owner = h.rawDealer(url);
    await owner.send(["", C, "mmi.session", "m-1", TOKEN_A]);
    await owner.receive();
    await owner.send(["", C, "svc", "order-7", "mine"]);
    const hostile = h.rawDealer(url);
    await hostile.send(["", C, "svc", "order-7", "theirs"]); // no session
    const sessioned = h.rawDealer(url);
    await sessioned.send(["", C, "mmi.session", "m-1", TOKEN_H]); // a session of its own
    await sessioned.receive();
    await sessioned.send(["", C, "svc", "order-7", "also theirs"]);
    await waitFor(() => broker.stats().services.svc?.queued === 3, "three separate requests");
    expect(broker.stats().joined).toBe(0);
    // A raw worker (no reply cache in the way) sees three REQUESTs; each answer goes to its own asker.
    const worker = h.rawDealer(url);
    await worker.send(["", W, cmd(0x01), "svc"]);
    const clients = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const req = await worker.receive();
      clients.add((req[3] as Buffer).toString("hex"));
      await worker.send(["", W, cmd(0x03), req[3] as Buffer, "", "order-7", `done:${String(req[6])}`]);
    }
    expect(clients.size, "three different client frames").toBe(3);
    expect(text(await owner.receive()).at(-1)).toBe("done:mine");
    expect(text(await hostile.receive()).at(-1)).toBe("done:theirs");
    expect(text(await sessioned.receive()).at(-1)).toBe("done:also theirs");
  });

  it("mmi.session refuses a short token with 400; a plain RFC 8 body of one frame is answered with one frame", async () => {
    const { url } = await h.broker();
    const d = h.rawDealer(url);
    await d.send(["", C, "mmi.session", "m-1", "short"]);
    expect(text(await d.receive())).toEqual(["", C, "mmi.session", "m-1", "400"]);
    await d.send(["", C, "mmi.session", TOKEN_A]);
    expect(text(await d.receive())).toEqual(["", C, "mmi.session", "200"]);
  });

  it("an answer whose socket went away is held for the session and delivered when the client comes back", async () => {
    const { url, broker } = await h.broker();
    const gone = h.rawDealer(url);
    await gone.send(["", C, "mmi.session", "m-1", TOKEN_A]);
    await gone.receive();
    await gone.send(["", C, "svc", "r-1", "x"]);
    await waitFor(() => broker.stats().services.svc?.queued === 1, "queued");
    gone.close();
    await waitFor(() => broker.stats().disconnects >= 1, "the broker saw it go");
    await h.worker(url, "svc", echo);
    await waitFor(() => broker.stats().held === 1, "answer held");
    const back = h.rawDealer(url);
    await back.send(["", C, "mmi.session", "m-2", TOKEN_A]);
    const answers = [text(await back.receive()), text(await back.receive())];
    expect(answers).toContainEqual(["", C, "svc", "r-1", "x"]);
    expect(broker.stats()).toMatchObject({ held: 0, undelivered: 0 });
  });
});

describe("mmi.cancel: withdraw a request that no worker took", () => {
  it("answers 200 for a queued request (never dispatched later), 409 for a running one, 404 for an unknown one", async () => {
    const { url, broker } = await h.broker();
    const d = h.rawDealer(url);
    await d.send(["", C, "svc", "queued-1", "x"]);
    await waitFor(() => broker.stats().services.svc?.queued === 1, "queued");
    await d.send(["", C, "mmi.cancel", "m-1", "queued-1"]);
    expect(text(await d.receive())).toEqual(["", C, "mmi.cancel", "m-1", "200"]);
    await d.send(["", C, "mmi.cancel", "m-2", "nobody-sent-this"]);
    expect(text(await d.receive())).toEqual(["", C, "mmi.cancel", "m-2", "404"]);

    const rogue = h.rawDealer(url);
    await rogue.send(["", W, cmd(0x01), "svc"]);
    await waitFor(() => broker.stats().services.svc?.workers === 1, "worker registered");
    await d.send(["", C, "svc", "running-1", "y"]);
    const req = await rogue.receive();
    // The withdrawn one was never dispatched: the worker's first request is the later one.
    expect(text(req).slice(-2)).toEqual(["running-1", "y"]);
    await d.send(["", C, "mmi.cancel", "m-3", "running-1"]);
    expect(text(await d.receive())).toEqual(["", C, "mmi.cancel", "m-3", "409"]);
    expect(broker.stats().cancelled).toBe(1);
  });
});

describe("every request gets an answer", () => {
  it("a request without a body, or without a service, is answered MALFORMED", async () => {
    const { url, broker } = await h.broker();
    const d = h.rawDealer(url);
    await d.send(["", C, "svc"]);
    expect(text(await d.receive())).toEqual(["", C, "svc", "", "MDPERR", "MALFORMED", "request has no body"]);
    await d.send(["", C]);
    expect(text(await d.receive())).toEqual(["", C, "", "", "MDPERR", "MALFORMED", "request has no body"]);
    expect(broker.stats().malformed).toBe(2);
  });

  it("a worker reply without the requestId frame is answered BAD_REPLY at once, and the worker keeps serving", async () => {
    const { url, broker } = await h.broker();
    const rogue = h.rawDealer(url);
    await rogue.send(["", W, cmd(0x01), "svc"]);
    await waitFor(() => broker.stats().services.svc?.workers === 1, "registered");
    const client = h.client(url, { timeout: 10_000 });
    // Caught at once: the first is rejected while the second is still being answered.
    const read = client.request("svc", Buffer.from("x"), { idempotent: true }).catch((e: unknown) => e);
    const write = client.request("svc", Buffer.from("y"), { requestId: "w-1" }).catch((e: unknown) => e);
    for (const _ of [read, write]) {
      const req = await rogue.receive();
      // REPLY [client, "", result]: the plain RFC 7 shape, our requestId frame dropped.
      await rogue.send(["", W, cmd(0x03), req[3] as Buffer, "", "result"]);
    }
    expect(await read).toMatchObject({ code: "BAD_REPLY" });
    // A write's worker did answer, so it ran: the caller must check before resending.
    expect(await write).toMatchObject({ code: "OUTCOME_UNKNOWN", requestId: "w-1" });
    expect(broker.stats()).toMatchObject({ badReplies: 2, protocolErrors: 0 });
    expect(broker.stats().services.svc?.idle).toBe(1);
  });
});

import { Router } from "zeromq";
import { afterEach, describe, expect, it } from "vitest";
import { Harness } from "./helpers.js";

/**
 * A raw ROUTER stands in for a conforming broker that forwards whatever its worker
 * answered, so the client alone must make sense of replies that lost their requestId.
 */
const h = new Harness();
const routers: Router[] = [];
afterEach(async () => {
  for (const r of routers.splice(0)) r.close();
  await h.closeAll();
});

async function fakeBroker(): Promise<{ router: Router; url: string }> {
  const router = new Router({ linger: 0, receiveTimeout: 5000 });
  await router.bind("tcp://127.0.0.1:*");
  routers.push(router);
  return { router, url: router.lastEndpoint as string };
}

/** The next request for `service` (skipping our mmi.session handshake, answered 501 like a conforming broker). */
async function nextRequest(router: Router, service: string): Promise<Buffer[]> {
  for (;;) {
    const msg = await router.receive();
    if (String(msg[3]) === service) return msg;
    await router.send([msg[0] as Buffer, "", "MDPC01", msg[3] as Buffer, msg[4] as Buffer, "501"]);
  }
}

describe("replies without a requestId (through a conforming broker)", () => {
  it("with one request in flight on the socket it is that one's: BAD_REPLY for a read, OUTCOME_UNKNOWN for a write, at once", async () => {
    const { router, url } = await fakeBroker();
    const client = h.client(url, { timeout: 10_000, retries: 1 });
    const started = Date.now();
    const read = client.request("svc", Buffer.from("x"), { idempotent: true }).catch((e: unknown) => e);
    const req = await nextRequest(router, "svc");
    await router.send([req[0] as Buffer, "", "MDPC01", "svc", "result"]); // RFC 7 body of one frame
    expect(await read).toMatchObject({ code: "BAD_REPLY" });

    const write = client.request("svc", Buffer.from("y"), { requestId: "w-1" }).catch((e: unknown) => e);
    const wreq = await nextRequest(router, "svc");
    await router.send([wreq[0] as Buffer, "", "MDPC01", "svc", "result"]);
    expect(await write).toMatchObject({ code: "OUTCOME_UNKNOWN", requestId: "w-1" });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(client.stats().badReplies).toBe(2);
  });

  it("with several in flight it cannot be placed: counted, and nobody is failed by mistake", async () => {
    const { router, url } = await fakeBroker();
    const client = h.client(url, { timeout: 10_000, retries: 1 });
    const a = client.request("svc", Buffer.from("a"), { idempotent: true });
    const b = client.request("svc", Buffer.from("b"), { idempotent: true });
    const ra = await nextRequest(router, "svc");
    const rb = await nextRequest(router, "svc");
    await router.send([ra[0] as Buffer, "", "MDPC01", "svc", "result"]);
    await router.send([rb[0] as Buffer, "", "MDPC01", "svc", rb[4] as Buffer, "b-ok"]);
    await router.send([ra[0] as Buffer, "", "MDPC01", "svc", ra[4] as Buffer, "a-ok"]);
    expect([String(await a), String(await b)]).toEqual(["a-ok", "b-ok"]);
    expect(client.stats().badReplies).toBe(1);
  });
});

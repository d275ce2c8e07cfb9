import { Dealer } from "zeromq";
import { MdpBroker, MdpClient, MdpWorker, type MdpHandler } from "../src/index.js";
import { waitFor as poll } from "@desk/testkit";

// Short heartbeats keep tests quick; liveness 5 (500 ms) keeps a loaded 2-core
// machine's event-loop stalls from passing for dead workers.
export const FAST = { heartbeatInterval: 100, liveness: 5 } as const;

/** Polls until `check` holds, or fails with `what` after the deadline (no fixed sleeps). */
export const waitFor = (check: () => boolean | Promise<boolean>, what: string, deadlineMs = 10_000): Promise<true> =>
  poll(async () => (await check()) || undefined, what, deadlineMs);

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Tracks everything a test opens so afterEach can close it, even on failure. */
export class Harness {
  private readonly closers: Array<() => Promise<void>> = [];

  track<T extends { close(): Promise<void> }>(thing: T): T {
    this.closers.push(() => thing.close());
    return thing;
  }

  async broker(o: ConstructorParameters<typeof MdpBroker>[0] = {}, endpoint = "tcp://127.0.0.1:*") {
    const broker = this.track(new MdpBroker({ ...FAST, ...o }));
    const url = await broker.bind(endpoint);
    return { broker, url };
  }

  async worker(
    endpoint: string,
    service: string,
    handler: MdpHandler,
    o: Partial<ConstructorParameters<typeof MdpWorker>[0]> = {},
  ) {
    const worker = this.track(new MdpWorker({ endpoint, service, handler, ...FAST, reconnect: 100, ...o }));
    await worker.start();
    return worker;
  }

  client(endpoints: string | string[], o: Partial<ConstructorParameters<typeof MdpClient>[0]> = {}) {
    return this.track(new MdpClient({ endpoints, timeout: 2000, retries: 3, ...o }));
  }

  /** A bare DEALER for speaking the wire protocol by hand (a rogue worker, a client that stops reading). */
  rawDealer(url: string, o: ConstructorParameters<typeof Dealer>[0] = {}): Dealer {
    const d = new Dealer({ linger: 0, receiveTimeout: 5000, ...o });
    d.connect(url);
    this.closers.push(async () => d.close());
    return d;
  }

  async closeAll(): Promise<void> {
    const closers = this.closers.splice(0).reverse();
    for (const close of closers) await close().catch(() => {});
  }
}

export const echo: MdpHandler = (payload) => payload;

/** Protocol frames for tests that speak MDP by hand. */
export const W = "MDPW01";
export const C = "MDPC01";
/** A one-byte command frame (0x01 READY ... 0x05 DISCONNECT). */
export const cmd = (n: number): Buffer => Buffer.from([n]);

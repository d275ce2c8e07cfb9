import { type MethodName, readReply, type ResultOf, type ServiceName } from "@desk/contracts";
import { MdpClient } from "@desk/mdp";
import { dumps, loads } from "@desk/pickle";
import { Subscriber } from "zeromq";
import { type MockBackend, type MockBackendOptions, startMockBackend } from "../src/index.js";

/** Polls until `check` holds, or fails naming `what` after the deadline (no fixed sleeps). */
export { waitFor } from "@desk/testkit";

export const CTX = { userId: "user-test", requestId: "" };

/** A test's view of a running mock: raw calls (decoded reply) and typed calls (checked by readReply). */
export class MockHarness {
  backend!: MockBackend;
  client!: MdpClient;
  private readonly subscribers: Subscriber[] = [];

  async start(o: MockBackendOptions = {}): Promise<this> {
    this.backend = await startMockBackend({ seed: 7, heartbeatInterval: 200, ...o });
    this.client = new MdpClient({ endpoints: this.backend.brokerUrl, timeout: 5000, retries: 2, idPrefix: "test" });
    return this;
  }

  /** Sends pickle([method, args, kwargs]) and returns the decoded [ok, value]. */
  async raw(
    service: string,
    method: string,
    args: unknown[],
    o: { requestId?: string; kwargs?: object } = {},
  ): Promise<unknown> {
    const requestId = o.requestId ?? this.client.nextRequestId();
    const kwargs = o.kwargs ?? { _ctx: { userId: CTX.userId, requestId } };
    const reply = await this.client.request(service, dumps([method, args, kwargs]), { requestId });
    return loads(reply);
  }

  /** A call whose reply must be a success matching the method's result schema. */
  async call<S extends ServiceName, M extends MethodName<S>>(
    service: S,
    method: M,
    args: unknown[],
    o: { requestId?: string } = {},
  ): Promise<ResultOf<S, M>> {
    const out = readReply(service, method, await this.raw(service, method, args, o));
    if (!out.ok) throw new Error(`${service}.${method} failed: ${out.error.code}: ${out.error.message}`);
    return out.result;
  }

  /** A call that must fail; returns the parsed { code, message }. */
  async fail(service: ServiceName, method: string, args: unknown[]): Promise<{ code: string; message: string }> {
    const reply = await this.raw(service, method, args);
    if (!Array.isArray(reply) || reply[0] !== false || typeof reply[1] !== "string") {
      throw new Error(`${service}.${method} should have failed, got ${JSON.stringify(reply)?.slice(0, 300)}`);
    }
    const m = /^([A-Z_]+): (.*)$/s.exec(reply[1]);
    if (!m) throw new Error(`error without a code: ${reply[1]}`);
    return { code: m[1]!, message: m[2]! };
  }

  /** A SUB socket on the mock's PUB, collecting [topic, decoded event] pairs. */
  subscribe(prefixes: string[]): { events: Array<{ topic: string; event: unknown }>; frames: number[] } {
    const sub = new Subscriber({ linger: 0 });
    sub.connect(this.backend.pubUrl);
    for (const p of prefixes) sub.subscribe(p);
    this.subscribers.push(sub);
    const out = { events: [] as Array<{ topic: string; event: unknown }>, frames: [] as number[] };
    void (async () => {
      try {
        for await (const msg of sub) {
          out.frames.push(msg.length);
          out.events.push({ topic: msg[0]!.toString(), event: loads(msg[1]!) });
        }
      } catch {
        // closed
      }
    })();
    return out;
  }

  async close(): Promise<void> {
    for (const s of this.subscribers.splice(0)) s.close();
    await this.client?.close().catch(() => {});
    await this.backend?.close();
  }
}

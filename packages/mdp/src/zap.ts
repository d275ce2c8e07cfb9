import { type Context, Router } from "zeromq";
import { checkCurveKey, z85Encode } from "./curve-keys.js";
import { type MdpLogger, silentLogger } from "./logger.js";

/**
 * A ZAP handler (ZeroMQ RFC 27) on `inproc://zeromq.zap.01` of one zeromq Context:
 * libzmq asks it about every CURVE handshake on that context's server sockets, with
 * the socket's ZAP domain and the client's public key (proven by the handshake: the
 * client's INITIATE vouch box is checked before libzmq asks). It admits a key only if
 * it is listed for that domain. A socket that uses it must set `zapEnforceDomain`, so
 * that a handler that is gone fails handshakes instead of admitting everyone.
 *
 * libzmq allows one handler per context, hence one Context per broker or publisher.
 */
export interface ZapStats {
  /** Handshakes admitted (the key is listed for the socket's domain). */
  admitted: number;
  /** Handshakes refused: the key is not listed for that domain (or not a CURVE handshake). */
  refused: number;
}

const ZAP_ENDPOINT = "inproc://zeromq.zap.01";
const ZAP_VERSION = "1.0";
/** One log line per refused key per this many ms, so a peer retrying cannot flood the log. */
const REFUSAL_LOG_MS = 10_000;

export class ZapHandler {
  private readonly socket: Router;
  private readonly allowed = new Map<string, Set<string>>();
  private readonly counters: ZapStats = { admitted: 0, refused: 0 };
  private readonly lastLogged = new Map<string, number>();
  private loop: Promise<void> | undefined;

  constructor(
    context: Context,
    private readonly logger: MdpLogger = silentLogger,
  ) {
    this.socket = new Router({ context, linger: 0 });
  }

  /** Lists `keys` (Z85 public keys) for `domain`; a domain never allowed admits nobody. */
  allow(domain: string, keys: Iterable<string>): void {
    let set = this.allowed.get(domain);
    if (set === undefined) {
      set = new Set();
      this.allowed.set(domain, set);
    }
    for (const key of keys) set.add(checkCurveKey(key, `a key allowed for ${domain}`));
  }

  async start(): Promise<void> {
    if (this.loop !== undefined) return;
    await this.socket.bind(ZAP_ENDPOINT);
    this.loop = this.serve();
  }

  stats(): ZapStats {
    return { ...this.counters };
  }

  close(): Promise<void> {
    this.socket.close();
    return this.loop ?? Promise.resolve();
  }

  private async serve(): Promise<void> {
    for (;;) {
      let msg: Buffer[];
      try {
        msg = await this.socket.receive();
      } catch {
        if (this.socket.closed) return;
        continue;
      }
      // [peer, "", version, requestId, domain, address, identity, mechanism, credentials...]
      const [peer, delimiter, version, requestId] = msg;
      if (peer === undefined || delimiter === undefined || version === undefined || requestId === undefined) continue;
      const [status, text] = this.decide(msg);
      try {
        await this.socket.send([peer, delimiter, ZAP_VERSION, requestId, status, text, "", ""]);
      } catch {
        if (this.socket.closed) return;
      }
    }
  }

  private decide(msg: Buffer[]): [string, string] {
    if (msg.length < 9 || msg[2]?.toString() !== ZAP_VERSION) return ["500", "malformed ZAP request"];
    const domain = (msg[4] as Buffer).toString();
    const address = (msg[5] as Buffer).toString();
    const mechanism = (msg[7] as Buffer).toString();
    const credential = msg[8] as Buffer;
    if (mechanism !== "CURVE" || credential.length !== 32) {
      this.refuse(domain, address, `${mechanism} handshake`);
      return ["400", "CURVE required"];
    }
    const key = z85Encode(credential);
    if (this.allowed.get(domain)?.has(key) === true) {
      this.counters.admitted++;
      return ["200", "OK"];
    }
    this.refuse(domain, address, key);
    return ["400", "key not allowed"];
  }

  private refuse(domain: string, address: string, key: string): void {
    this.counters.refused++;
    const now = Date.now();
    const seen = `${domain}\0${key}`;
    const last = this.lastLogged.get(seen);
    if (last !== undefined && now - last < REFUSAL_LOG_MS) return;
    if (this.lastLogged.size > 1000) this.lastLogged.clear();
    this.lastLogged.set(seen, now);
    // Public keys are not secrets: naming the refused one is what lets an operator list it, or hunt it.
    this.logger.warn({ domain, address, key }, "curve: handshake refused, key not allowed here");
  }
}

import { createHash } from "node:crypto";
import { Fifo } from "./fifo.js";
import type { Frames } from "./socket-writer.js";

/**
 * A client that declared itself with mmi.session. The token is a secret the client
 * sends only to the broker (never forwarded to workers), so a peer that learned a
 * requestId (a worker sees them all) still cannot join that request or steal its
 * answer: joins are keyed by (token, requestId), or by (socket, requestId) for a
 * client without a session.
 */
export interface Session {
  readonly token: string;
  /** Its join scope ("s" + token), built once rather than per request. */
  readonly scope: string;
  /**
   * The client frame workers see in this session's REQUESTs (RFC 7's "client address"):
   * stable across the client's reconnects and our restarts, so a worker can tell one
   * client from another over time, yet derived one-way from the token, so a worker
   * learns nothing it could join with. 17 bytes starting with "S": never equal to a
   * libzmq-generated identity (5 bytes starting with 0).
   */
  readonly alias: Buffer;
  /** The socket that declared the session last: answers go there. */
  identity: Buffer;
  /** Answers whose socket had gone before the client reconnected, oldest first. */
  readonly held: Fifo<{ frames: Frames; at: number }>;
}

export const SESSION_TOKEN_MIN = 16;
export const SESSION_TOKEN_MAX = 255;

/**
 * Sessions by token and by socket identity, both bounded: past `max` the least
 * recently declared is forgotten (its requests still answer its last socket; only a
 * later reconnect of that client loses the join).
 */
export class SessionRegistry {
  private readonly byToken = new Map<string, Session>();
  private readonly byIdentity = new Map<string, Session>();

  constructor(private readonly max: number) {}

  get size(): number {
    return this.byToken.size;
  }

  of(identityKey: string): Session | undefined {
    return this.byIdentity.size === 0 ? undefined : this.byIdentity.get(identityKey);
  }

  /** Binds the socket to the session (creating it), which now answers to this socket. */
  declare(identity: Buffer, identityKey: string, token: string): Session {
    let session = this.byToken.get(token);
    if (session === undefined) {
      const alias = Buffer.concat([Buffer.from("S"), createHash("sha256").update(token).digest().subarray(0, 16)]);
      session = { token, scope: `s${token}`, alias, identity, held: new Fifo() };
    } else {
      session.identity = identity;
      this.byToken.delete(token);
    }
    this.byToken.set(token, session);
    this.byIdentity.delete(identityKey);
    this.byIdentity.set(identityKey, session);
    evictOldest(this.byToken, this.max);
    evictOldest(this.byIdentity, this.max);
    return session;
  }
}

function evictOldest<V>(map: Map<string, V>, max: number): void {
  while (map.size > max) {
    const oldest = map.keys().next();
    if (oldest.done) return;
    map.delete(oldest.value);
  }
}

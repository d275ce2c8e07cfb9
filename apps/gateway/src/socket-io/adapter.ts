import { LRUCache } from "lru-cache";
import { Adapter, type PrivateSessionId, type Session } from "socket.io-adapter";

type PersistedSession = Omit<Session, "missedPackets">;

/** Disconnected sessions kept at most (least recently disconnected forgotten first). */
const MAX_SESSIONS = 10_000;

/**
 * socket.io's connection state recovery with the gateway's own replay. socket.io's
 * SessionAwareAdapter keeps a copy of every packet sent to every client for the
 * recovery window (millions at a desk's fan-out rate) and replays them blindly. This
 * one keeps only the disconnected sessions (their id, rooms and data: what the
 * connection followed), bounded and expiring; the missed events come from the
 * gateway's per-topic ring buffers, after the event id the client sends back as its
 * offset (socket-io/server.ts), scoped and bounded like every other delivery.
 */
export class ResumableSessionAdapter extends Adapter {
  private readonly sessions = new LRUCache<PrivateSessionId, PersistedSession>({
    max: MAX_SESSIONS,
    ttl: Math.max(1, (this.nsp.server.opts.connectionStateRecovery?.maxDisconnectionDuration as number) ?? 1),
    ttlAutopurge: false,
  });

  override persistSession(session: PersistedSession): void {
    this.sessions.set(session.pid, session);
  }

  override restoreSession(pid: PrivateSessionId, _offset: string): Promise<Session> {
    const session = this.sessions.get(pid);
    this.sessions.delete(pid);
    // socket.io's types want a Session; null (unknown or expired) makes it a fresh connection.
    return Promise.resolve(session ? { ...session, missedPackets: [] } : (null as unknown as Session));
  }
}

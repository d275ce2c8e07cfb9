import type { Logger } from "./logger.js";

/** The MdpClient's figures, as its stats() reports them (newer clients add fields; all are logged). */
export type PoolFigures = Record<string, number | string | boolean>;

/** Logged in this order, when the client reports them; anything else it reports follows. */
const ORDER = [
  "inFlight",
  "sent",
  "replies",
  "timeouts",
  "retries",
  "reconnects",
  "lateReplies",
  "outcomeUnknown",
  "withdrawn",
  "brokerErrors",
  "badReplies",
  "handshakeFailures",
  "endpoint",
];

/**
 * What is news between two periodic lines: the endpoint (a failover) and the
 * counters of trouble. In-flight, sent and replies move with every call, and
 * whether the broker has the extensions is learnt once at the first reply, so
 * those alone do not make a line.
 */
const QUIET = new Set(["inFlight", "sent", "replies", "brokerExtensions"]);

/**
 * The source document's "connection pool metrics in logs": one info line with the
 * MDP client's figures every `intervalMs` (60 s), and one as soon as a figure of
 * trouble or the endpoint changes (looked at every `checkMs`, so at most one such
 * line a second), the changed fields named in `changed`. The first line is logged at start.
 */
export function logPoolFigures(o: { stats: () => PoolFigures; logger: Logger; intervalMs: number; checkMs?: number }): {
  stop(): void;
} {
  let last: PoolFigures | undefined;
  let lastAt = 0;
  const line = (figures: PoolFigures, changed: string[] | undefined) => {
    const ordered: PoolFigures = {};
    for (const key of ORDER) if (key in figures) ordered[key] = figures[key]!;
    for (const [key, value] of Object.entries(figures)) if (!(key in ordered)) ordered[key] = value;
    o.logger.info({ mdp: ordered, ...(changed ? { changed } : {}) }, "mdp connection pool");
    last = figures;
    lastAt = Date.now();
  };
  const check = () => {
    const figures = o.stats();
    if (!last) return line(figures, undefined);
    const changed = Object.keys(figures).filter((key) => !QUIET.has(key) && figures[key] !== last?.[key]);
    if (changed.length > 0) line(figures, changed);
    else if (Date.now() - lastAt >= o.intervalMs) line(figures, undefined);
  };
  check();
  const timer = setInterval(check, Math.max(10, Math.min(o.checkMs ?? 1_000, o.intervalMs)));
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

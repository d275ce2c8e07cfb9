/**
 * Event ids: `${topic}:${EPOCH}.${seq}`. What a client keeps to resume a
 * subscription (tRPC's lastEventId), so the format is decided here only.
 *
 * Sequences restart with the process, so an id kept by a client across a gateway
 * restart must not position a replay in the new process's buffers (it would replay
 * unrelated events): only ids of this process's epoch are replayed from; others
 * resume live (plus a snapshot where the subscription has one). The counter is
 * shared by every PubSubscriber in the process so ids stay unique when several
 * gateways are embedded in one.
 */
const EPOCH = `${Date.now().toString(36)}${Math.floor(Math.random() * 36 ** 4)
  .toString(36)
  .padStart(4, "0")}`;
let processSeq = 0;

/** The next sequence number of this process (global across topics and gateways). */
export function nextSeq(): number {
  return ++processSeq;
}

/** The id of event `seq` on `topic` (also used to position a snapshot in a stream). */
export function eventIdOf(topic: string, seq: number): string {
  return `${topic}:${EPOCH}.${seq}`;
}

/** "account.account1:<EPOCH>.42" -> 42 ; another process's epoch or anything unparsable -> undefined (no replay, live only). */
export function seqOfEventId(id: string | null | undefined): number | undefined {
  if (!id) return undefined;
  const at = id.lastIndexOf(":");
  if (at < 0 || !id.startsWith(`${EPOCH}.`, at + 1)) return undefined;
  const n = Number(id.slice(at + 2 + EPOCH.length));
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** "execution.ex-1:<EPOCH>.42" -> "execution.ex-1" (whatever the epoch). */
export function topicOfEventId(id: string | null | undefined): string | undefined {
  if (!id) return undefined;
  const at = id.lastIndexOf(":");
  return at > 0 ? id.slice(0, at) : undefined;
}

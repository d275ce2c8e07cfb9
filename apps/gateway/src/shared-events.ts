/*
 * Event data shared by every subscriber of a topic: decoded once from the SUB
 * socket, never mutated afterwards (subscriber.ts registers it; per-subscriber
 * mapping makes new objects, which are not registered). For these objects, and
 * only these, what is derived from their content can be computed once and kept
 * for every subscriber that delivers them: whether superjson would add anything
 * (transformer.ts) and their JSON text (a tRPC feed's own frames,
 * http/direct-subscriptions.ts; socket.io's parser).
 * WeakMaps: an entry goes with its event.
 */
const shared = new WeakSet<object>();
const jsonTexts = new WeakMap<object, string>();

/** Marks an event's data as shared and immutable (called once, where it is decoded). */
export function shareEventData(data: unknown): void {
  if (typeof data === "object" && data !== null) shared.add(data);
}

export function isSharedEventData(data: unknown): data is object {
  return typeof data === "object" && data !== null && shared.has(data);
}

/** JSON.stringify(data), once per shared event however many subscribers deliver it. */
export function sharedJsonText(data: object): string {
  let text = jsonTexts.get(data);
  if (text === undefined) {
    text = JSON.stringify(data);
    jsonTexts.set(data, text);
  }
  return text;
}

/** `list` with the item of the same id replaced (or appended): for patching cached lists from live events. */
export function replaceById<T extends { id: string }>(list: readonly T[] | undefined, item: T): T[] {
  if (!list) return [item];
  let found = false;
  const next = list.map((existing) => {
    if (existing.id !== item.id) return existing;
    found = true;
    return item;
  });
  return found ? next : [...next, item];
}

/** Appends to a bounded log, dropping the oldest; skips an entry already there (a replay after resume). */
export function appendBounded<T>(
  list: readonly T[] | undefined,
  item: T,
  max: number,
  same: (a: T, b: T) => boolean,
): T[] {
  const current = list ?? [];
  if (current.some((existing) => same(existing, item))) return [...current];
  const next = [...current, item];
  return next.length > max ? next.slice(next.length - max) : next;
}

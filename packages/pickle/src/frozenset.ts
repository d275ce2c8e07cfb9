/**
 * JavaScript has one Set type; Python has set and frozenset, and only a frozenset can be
 * a set item or a dict key. A frozenset decodes to an ordinary Set carrying a hidden
 * marker (one property write, only for frozensets), so `dumps` writes it back as a
 * frozenset and CPython can hash it again.
 */
const FROZEN_MARK: unique symbol = Symbol.for("@desk/pickle.frozenset");

export type PyFrozenSet<T = unknown> = Set<T> & { readonly [FROZEN_MARK]: true };

/** Build a Set that `dumps` writes as a Python frozenset. */
export function frozenset<T>(items: Iterable<T> = []): PyFrozenSet<T> {
  return asFrozenSet(new Set(items));
}

/** Mark an existing Set (no copy) as a Python frozenset. */
export function asFrozenSet<T>(set: Set<T>): PyFrozenSet<T> {
  Object.defineProperty(set, FROZEN_MARK, { value: true, enumerable: false });
  return set as PyFrozenSet<T>;
}

export function isFrozenSet(value: unknown): value is PyFrozenSet {
  return value instanceof Set && (value as { [FROZEN_MARK]?: true })[FROZEN_MARK] === true;
}

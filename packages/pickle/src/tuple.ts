/**
 * JavaScript has no tuple type. A tuple is an ordinary array carrying a hidden marker,
 * so it still works everywhere an array does (zod, JSON, spread) and costs one
 * property write, not a wrapper object.
 */
const TUPLE_MARK: unique symbol = Symbol.for("@desk/pickle.tuple");

export type PyTuple<T extends readonly unknown[] = unknown[]> = T & { readonly [TUPLE_MARK]: true };

function mark<T extends unknown[]>(items: T): PyTuple<T> {
  Object.defineProperty(items, TUPLE_MARK, { value: true, enumerable: false });
  return items as PyTuple<T>;
}

/** Build a value that `dumps` writes as a Python tuple: `tuple("get_positions", ["acc1"])`. */
export function tuple<T extends unknown[]>(...items: T): PyTuple<T> {
  return mark(items);
}

/** Mark an existing array (no copy) as a Python tuple. */
export function asTuple<T extends unknown[]>(items: T): PyTuple<T> {
  return mark(items);
}

export function isTuple(value: unknown): value is PyTuple {
  return Array.isArray(value) && (value as { [TUPLE_MARK]?: true })[TUPLE_MARK] === true;
}

import { PickleError } from "./errors.js";

interface Frame {
  readonly children: unknown[];
  index: number;
  readonly depth: number;
}

function isContainer(v: unknown): v is object {
  if (typeof v !== "object" || v === null) return false;
  if (Array.isArray(v) || v instanceof Map || v instanceof Set) return true;
  return Object.getPrototypeOf(v) === null; // a decoded dict or object
}

/**
 * Children of a container, after replacing any dict that became a Map (`forward`) by
 * that Map in place. Only lists, tuples, dict values and object fields can hold a dict:
 * set items and dict keys are hashable, and a dict is not.
 */
function childrenOf(v: object, forward: Map<object, object> | undefined): unknown[] {
  if (Array.isArray(v)) {
    if (forward !== undefined) {
      for (let i = 0; i < v.length; i++) {
        const to = forward.get(v[i] as object);
        if (to !== undefined) v[i] = to;
      }
    }
    return v;
  }
  if (v instanceof Map) {
    const out: unknown[] = [];
    for (const [k, x] of v) {
      const to = forward?.get(x as object);
      if (to !== undefined) v.set(k, to);
      out.push(k, to ?? x);
    }
    return out;
  }
  if (v instanceof Set) return [...v];
  const o = v as Record<string, unknown>;
  const out: unknown[] = [];
  for (const k of Object.keys(o)) {
    const to = forward?.get(o[k] as object);
    if (to !== undefined) o[k] = to;
    out.push(o[k]);
  }
  return out;
}

/**
 * The rare second pass over a decoded value: points every reference to a dict that had
 * to become a Map at that Map, and (when `maxDepth` is given) measures nesting exactly
 * as `dumps` would meet it (depth-first, in order, a container seen before counting
 * nothing), refusing a value deeper than maxDepth. Iterative: nesting cannot overflow
 * the call stack here.
 */
export function patchAndMeasure(root: unknown, forward: Map<object, object> | undefined, maxDepth?: number): unknown {
  const top = forward?.get(root as object) ?? root;
  if (!isContainer(top)) return top;
  const seen = new Set<object>([top]);
  const frames: Frame[] = [{ children: childrenOf(top, forward), index: 0, depth: 1 }];
  while (frames.length > 0) {
    const frame = frames[frames.length - 1]!;
    if (frame.index >= frame.children.length) {
      frames.pop();
      continue;
    }
    const child = frame.children[frame.index++];
    if (!isContainer(child) || seen.has(child)) continue;
    seen.add(child);
    const depth = frame.depth + 1;
    if (maxDepth !== undefined && depth > maxDepth) {
      throw new PickleError("LIMIT_EXCEEDED", `containers nest deeper than maxDepth ${maxDepth}`);
    }
    frames.push({ children: childrenOf(child, forward), index: 0, depth });
  }
  return top;
}

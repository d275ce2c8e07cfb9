/**
 * The deepest nesting a request body may have. Real inputs are a few levels deep (an
 * instruction's strike selector is the deepest, at 5); recursive code downstream
 * (superjson, zod, trpc-to-openapi's JSON.stringify) overflows the stack somewhere
 * past a few thousand, which used to surface as a 500.
 */
export const MAX_JSON_DEPTH = 400;

/**
 * True when `value` (parsed JSON) nests arrays or objects deeper than `max` levels.
 * Iterative, so a hostile body cannot overflow the stack here either; it stops at the
 * first branch that goes too deep.
 */
export function nestedDeeperThan(value: unknown, max: number = MAX_JSON_DEPTH): boolean {
  if (typeof value !== "object" || value === null) return false;
  const stack: Array<{ node: object; depth: number }> = [{ node: value, depth: 1 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    if (depth > max) return true;
    const children = Array.isArray(node) ? node : Object.values(node);
    for (const child of children) {
      if (typeof child === "object" && child !== null) stack.push({ node: child, depth: depth + 1 });
    }
  }
  return false;
}

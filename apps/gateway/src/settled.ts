/** Resolves once `done()` holds, or after `withinMs` (shutdown's bounded waits). */
export async function settled(done: () => boolean, withinMs: number): Promise<void> {
  const until = Date.now() + withinMs;
  while (!done() && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 10));
}

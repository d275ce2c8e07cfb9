import { waitFor } from "@desk/testkit";

/** Poll `cond` until it holds or `ms` passes (no fixed sleeps: the machine is loaded and timing varies). */
export const until = (cond: () => boolean, what: string, ms = 20_000): Promise<true> =>
  waitFor(() => cond() || undefined, what, ms);

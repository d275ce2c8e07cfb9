// An app module whose own declarations name a type from inside the router's type, as a
// module exporting tRPC's React hooks for AppRouter does. With `declaration` on,
// TypeScript needs a name for it (else TS4023 "... cannot be named"): the SDK exports it.
import type { AppRouter } from "@desk/sdk";

export function contextOf(router: AppRouter) {
  return router._def._config.$types.ctx;
}

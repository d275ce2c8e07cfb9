import { useQuery } from "@tanstack/react-query";
import { useEffect, useState, useSyncExternalStore } from "react";
import { toGatewayError } from "@desk/sdk";
import { type ConnectionView, connectionView } from "../lib/connection";
import type { Store } from "../lib/store";
import type { SocketState } from "./gateway";
import { useTRPC } from "./trpc";

/** The gateway's /health (system.health), polled: feeds the connection badge and the stale state of quotes. */
export function useHealth() {
  const trpc = useTRPC();
  return useQuery({
    ...trpc.system.health.queryOptions(undefined, { refetchInterval: 3_000, refetchIntervalInBackground: true }),
    retry: false,
    staleTime: 0,
  });
}

export function useStore<T>(store: Store<T>): T {
  return useSyncExternalStore(store.subscribe, store.get, store.get);
}

export function useOnline(): boolean {
  return useSyncExternalStore(
    (onChange) => {
      window.addEventListener("online", onChange);
      window.addEventListener("offline", onChange);
      return () => {
        window.removeEventListener("online", onChange);
        window.removeEventListener("offline", onChange);
      };
    },
    () => navigator.onLine,
  );
}

/** Connected / reconnecting / offline, from the WebSocket's state, /health and the browser. */
export function useConnection(socket: Store<SocketState>): ConnectionView {
  const state = useStore(socket);
  const health = useHealth();
  const online = useOnline();
  const failure = health.isError ? toGatewayError(health.error) : null;
  // No answer at all (not even an HTTP status): the gateway itself is out of reach.
  const unreachable = failure !== null && failure.kind === "backend_unavailable" && failure.httpStatus === undefined;
  return connectionView({
    socket: state.current,
    wasConnected: state.wasConnected,
    // After a failed poll the last good report is out of date: judge by the failure.
    health: { report: failure ? null : (health.data ?? null), unreachable },
    online,
  });
}

/**
 * Re-renders every `intervalMs` and returns the time of this render: ages shown stay
 * current between ticks, and a render caused by a tick measures against its own clock
 * (not the last timer's, which would make a fresh tick look as if from the future).
 */
export function useNow(intervalMs = 1_000): number {
  const [, setBeat] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setBeat((b) => b + 1), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return Date.now();
}

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

/** Date.now(), re-rendered every `intervalMs`: tick ages and expiry countdowns. */
export function useNow(intervalMs = 1_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}

import type { HealthReport } from "./types";

/** The connection badge: always visible, in the header and on the login page. */
export type ConnectionStatus = "connecting" | "connected" | "reconnecting" | "offline";

export interface ConnectionView {
  status: ConnectionStatus;
  /** Why, in a few words ("gateway unreachable", "WebSocket closed"). */
  detail: string | null;
  /** Problems the gateway reports while it is reachable ("pub/sub disconnected"). */
  degraded: string[];
}

export interface ConnectionInputs {
  /** The SDK's WebSocket state (onConnectionState); null before any socket was wanted. */
  socket: { state: "idle" | "connecting" | "pending"; error: Error | null } | null;
  /** The socket has been open at least once in this session. */
  wasConnected: boolean;
  /** The last /health poll: the report, or whether it failed for lack of an answer. */
  health: { report: HealthReport | null; unreachable: boolean };
  /** navigator.onLine. */
  online: boolean;
}

/** Degradations worth a word in the header, from the gateway's own /health report. */
export function healthProblems(report: HealthReport | null): string[] {
  if (!report) return [];
  const problems: string[] = [];
  if (!report.broker.reachable) problems.push("broker unreachable");
  if (report.pubsub.state !== "connected") problems.push(`pub/sub ${report.pubsub.state}`);
  for (const [service, state] of Object.entries(report.services)) {
    if (report.broker.reachable && state !== "available") problems.push(`${service} ${state.replace("_", " ")}`);
  }
  return problems;
}

export function connectionView(i: ConnectionInputs): ConnectionView {
  const degraded = healthProblems(i.health.report);
  if (!i.online) return { status: "offline", detail: "the browser is offline", degraded: [] };
  if (i.health.unreachable) return { status: "offline", detail: "gateway unreachable", degraded: [] };
  if (i.socket?.state === "connecting") {
    if (i.wasConnected || i.socket.error) {
      // tRPC's own wording ("Initialization error") says nothing to a trader.
      return { status: "reconnecting", detail: "connection lost, retrying", degraded };
    }
    return { status: "connecting", detail: null, degraded };
  }
  if (i.socket === null && i.health.report === null) return { status: "connecting", detail: null, degraded };
  return { status: "connected", detail: null, degraded };
}

import type { ConnectionView } from "../lib/connection";

const LABELS = {
  connecting: "Connecting…",
  connected: "Connected",
  reconnecting: "Reconnecting…",
  offline: "Offline",
} as const;

/** Always on screen: the state of the link to the gateway, and what the gateway says is degraded. */
export function ConnectionBadge({ view }: { view: ConnectionView }) {
  const title = [view.detail, ...view.degraded].filter(Boolean).join("; ");
  return (
    <div
      className={`connection connection-${view.status}`}
      data-testid="connection"
      data-status={view.status}
      title={title}
    >
      <span className="connection-dot" aria-hidden="true" />
      <span className="connection-label">{LABELS[view.status]}</span>
      {view.detail ? <span className="connection-detail">{view.detail}</span> : null}
      {view.status === "connected" && view.degraded.length > 0 ? (
        <span className="connection-degraded" data-testid="degraded">
          {view.degraded.join(" · ")}
        </span>
      ) : null}
    </div>
  );
}

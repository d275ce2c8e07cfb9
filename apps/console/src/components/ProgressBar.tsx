import { formatPercent } from "../lib/format";

export function ProgressBar({ value, label }: { value: number; label?: string }) {
  const clamped = Math.min(1, Math.max(0, value));
  return (
    <div
      className="progress"
      role="progressbar"
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={Math.round(clamped * 100)}
      aria-label={label}
    >
      <div className="progress-fill" style={{ width: `${clamped * 100}%` }} />
      <span className="progress-text">{formatPercent(clamped)}</span>
    </div>
  );
}

import { describeError } from "../lib/errors";

/** A typed gateway error as a readable line: 403 names the permission, 503 the service. */
export function ErrorNote({ error, prefix }: { error: unknown; prefix?: string }) {
  if (error === null || error === undefined) return null;
  const readable = describeError(error);
  return (
    <div className={`error-note error-${readable.kind}`} role="alert" data-error-kind={readable.kind}>
      <strong>
        {prefix ? `${prefix}: ` : ""}
        {readable.title}
      </strong>
      {readable.detail ? <span className="error-detail"> — {readable.detail}</span> : null}
    </div>
  );
}

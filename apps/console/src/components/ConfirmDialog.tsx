import { type ReactNode, useEffect, useRef } from "react";

export interface ConfirmDialogProps {
  title: string;
  children: ReactNode;
  confirmLabel: string;
  /** "danger" for writes that move money or stop trading. */
  tone?: "danger" | "normal";
  /** While the confirmed action is on its way: the confirm button is disabled (no double send). */
  busy?: boolean;
  onConfirm(): void;
  onCancel(): void;
}

/** A modal question before a write. Escape or "Back" cancels; the confirm button works once. */
export function ConfirmDialog({
  title,
  children,
  confirmLabel,
  tone = "normal",
  busy,
  onConfirm,
  onCancel,
}: ConfirmDialogProps) {
  const cancelRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    // Focus the harmless choice: Enter on a stray keypress must not send an order.
    cancelRef.current?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") onCancel();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onCancel]);
  return (
    <div className="dialog-backdrop">
      <div className="dialog" role="dialog" aria-modal="true" aria-labelledby="dialog-title">
        <h2 id="dialog-title">{title}</h2>
        <div className="dialog-body">{children}</div>
        <div className="dialog-actions">
          <button type="button" ref={cancelRef} onClick={onCancel}>
            Back
          </button>
          <button
            type="button"
            className={tone === "danger" ? "danger" : "primary"}
            disabled={busy}
            onClick={onConfirm}
          >
            {confirmLabel}
          </button>
        </div>
      </div>
    </div>
  );
}

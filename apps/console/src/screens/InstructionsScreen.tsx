import { newClientOrderId } from "@desk/sdk";
import { useMutation, useQuery } from "@tanstack/react-query";
import { type Dispatch, useEffect, useReducer, useRef, useState } from "react";
import { useDesk } from "../api/desk-context";
import { useTRPC } from "../api/trpc";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { ErrorNote } from "../components/ErrorNote";
import { ExecutionFills, ExecutionLegs } from "../components/ExecutionTables";
import { LiveOrderFeed } from "../components/LiveOrderFeed";
import { ProgressBar } from "../components/ProgressBar";
import { describeError } from "../lib/errors";
import { formatSignedYuan } from "../lib/format";
import { instructionRows } from "../lib/instruction-rows";
import { draftKey, idleOrder, type OrderAction, type OrderState, orderReducer } from "../lib/order";
import { locateParseError, splitAtSpan } from "../lib/parse-error";
import type { Execution, ParseResult } from "../lib/types";

const EXAMPLE = "双卖 500 当月 万1 的v";

/** The desk's shorthand: parse to legs, preview as a dry run, execute once with confirmation, follow it live. */
export function InstructionsScreen() {
  const trpc = useTRPC();
  const { capabilities, session } = useDesk();
  const accounts = useQuery(trpc.account.list.queryOptions());
  const [text, setText] = useState(EXAMPLE);
  const [chosen, setChosen] = useState<string[] | null>(null);
  const [order, dispatch] = useReducer(orderReducer, idleOrder);
  const [preview, setPreview] = useState<{ key: string; execution: Execution } | null>(null);
  const textarea = useRef<HTMLTextAreaElement>(null);

  const selectable = (accounts.data ?? []).map((a) => a.id);
  const selected = chosen ?? (accounts.data ?? []).filter((a) => a.enabled).map((a) => a.id);
  const key = draftKey(text, selected);

  const parse = useMutation(trpc.instruction.parse.mutationOptions());
  const dryRun = useMutation(trpc.instruction.execute.mutationOptions());

  const parsedFor = parse.variables ? draftKey(parse.variables.text, parse.variables.accounts) : null;
  const parsed: ParseResult | null = parse.data && parsedFor === key ? parse.data : null;
  const currentPreview = preview && preview.key === key && parsed ? preview.execution : null;

  // A parse error points at the part of the text it is about: marked below, selected in the box.
  const parseError = parse.error && parse.variables?.text === text ? parse.error : null;
  const span = parseError ? locateParseError(text, describeError(parseError).title) : null;
  useEffect(() => {
    if (!span || !textarea.current) return;
    textarea.current.focus();
    textarea.current.setSelectionRange(span.start, span.end);
  }, [span?.start, span?.end, span]);

  if (!capabilities.parseInstructions) {
    return (
      <div className="screen">
        <div className="screen-head">
          <h2>Instructions</h2>
        </div>
        <p className="notice" data-testid="instructions-readonly">
          Your role ({session.role}) may not parse or execute instructions (it lacks the instruction:parse and
          instruction:execute permissions).
        </p>
      </div>
    );
  }

  const busy = parse.isPending || dryRun.isPending;
  const orderOpen = order.phase === "live" || order.phase === "confirming";
  return (
    <div className="screen instructions">
      <div className="screen-head">
        <h2>Instructions</h2>
        <span className="muted">e.g. 双卖 500 当月 万1 的v · 买购 300 下月 虚一档 10手 · 平仓 50 当月</span>
      </div>
      <div className="instruction-form">
        <textarea
          ref={textarea}
          aria-label="Instruction text"
          data-testid="instruction-text"
          rows={3}
          value={text}
          spellCheck={false}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && !busy) parse.mutate({ text, accounts: selected });
          }}
        />
        <fieldset className="account-picks">
          <legend>Accounts</legend>
          {selectable.map((id) => {
            const account = accounts.data?.find((a) => a.id === id);
            return (
              <label key={id} className="inline">
                <input
                  type="checkbox"
                  checked={selected.includes(id)}
                  onChange={(e) =>
                    setChosen(e.target.checked ? [...selected, id] : selected.filter((other) => other !== id))
                  }
                />
                {id}
                {account && !account.enabled ? <span className="badge off">disabled</span> : null}
              </label>
            );
          })}
        </fieldset>
        <div className="buttons">
          <button
            type="button"
            disabled={busy || selected.length === 0 || text.trim().length === 0}
            onClick={() => parse.mutate({ text, accounts: selected })}
          >
            {parse.isPending ? "Parsing…" : "Parse"}
          </button>
          <button
            type="button"
            disabled={!parsed || busy}
            onClick={() =>
              parsed &&
              dryRun.mutate(
                { instructions: parsed.instructions, accounts: parsed.accounts, dryRun: true },
                { onSuccess: (execution) => setPreview({ key, execution }) },
              )
            }
          >
            {dryRun.isPending ? "Pricing…" : "Preview"}
          </button>
          {capabilities.executeInstructions ? (
            <button
              type="button"
              className="primary"
              disabled={!parsed || busy || orderOpen}
              onClick={() =>
                parsed &&
                dispatch({ type: "request", draft: { instructions: parsed.instructions, accounts: parsed.accounts } })
              }
            >
              Execute…
            </button>
          ) : (
            <span className="muted small">Preview only: your role may not execute.</span>
          )}
        </div>
      </div>

      <OrderPanel order={order} dispatch={dispatch} preview={currentPreview} />

      {parseError ? (
        <div className="parse-error" data-testid="parse-error">
          <ErrorNote error={parseError} prefix="Cannot parse" />
          {span ? (
            <p className="marked-text">
              {splitAtSpan(text, span).before}
              <mark>{splitAtSpan(text, span).marked}</mark>
              {splitAtSpan(text, span).after}
            </p>
          ) : null}
        </div>
      ) : null}
      {parse.data && !parsed && !parseError ? (
        <p className="muted">The text or accounts changed: parse again.</p>
      ) : null}

      {parsed ? (
        <section className="block">
          <h3>Parsed legs</h3>
          <table className="grid compact" data-testid="parsed-legs">
            <thead>
              <tr>
                <th>#</th>
                <th>Action</th>
                <th>Side</th>
                <th>Right</th>
                <th>Underlying</th>
                <th>Month</th>
                <th>Strike</th>
                <th>Size</th>
                <th>From text</th>
              </tr>
            </thead>
            <tbody>
              {instructionRows(parsed.instructions).map((row) => (
                <tr key={row.key}>
                  <td>{row.instruction}</td>
                  <td>{row.action}</td>
                  <td>{row.side}</td>
                  <td>{row.right}</td>
                  <td>{row.underlying}</td>
                  <td>{row.month}</td>
                  <td>{row.strike}</td>
                  <td>{row.size}</td>
                  <td className="muted">{row.source}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p className="muted small">For accounts {parsed.accounts.join(", ")}.</p>
        </section>
      ) : null}

      <ErrorNote error={dryRun.error} prefix="Preview failed" />
      {currentPreview && (order.phase === "idle" || order.phase === "confirming") ? (
        <section className="block" data-testid="preview">
          <h3>
            Preview <span className="muted small">dry run · priced at the touch · nothing sent</span>
          </h3>
          <ExecutionLegs execution={currentPreview} testId="preview-legs" />
          <ExecutionFills execution={currentPreview} />
        </section>
      ) : null}
    </div>
  );
}

function OrderPanel({
  order,
  dispatch,
  preview,
}: {
  order: OrderState;
  dispatch: Dispatch<OrderAction>;
  preview: Execution | null;
}) {
  const trpc = useTRPC();
  const { capabilities } = useDesk();
  const cancel = useMutation(
    trpc.instruction.cancel.mutationOptions({ onSuccess: (execution) => dispatch({ type: "update", execution }) }),
  );
  if (order.phase === "idle") return null;
  if (order.phase === "confirming") {
    const rows = instructionRows(order.draft.instructions);
    return (
      <ConfirmDialog
        title="Send this order?"
        confirmLabel="Send order"
        tone="danger"
        onCancel={() => dispatch({ type: "back" })}
        onConfirm={() => dispatch({ type: "confirm", clientOrderId: newClientOrderId() })}
      >
        <p>
          {rows.length} leg{rows.length === 1 ? "" : "s"} per account, for{" "}
          <strong>{order.draft.accounts.join(", ")}</strong>:
        </p>
        <ul className="confirm-legs">
          {rows.map((r) => (
            <li key={r.key}>
              {r.side} {r.right} {r.underlying} {r.month} {r.strike} · {r.size}
            </li>
          ))}
        </ul>
        {preview ? (
          <p>
            Preview: {preview.legs.length} orders; net premium (received &gt; 0){" "}
            {preview.fills.map((f) => `${f.accountId} ¥${formatSignedYuan(f.premium)}`).join(", ")}.
          </p>
        ) : (
          <p className="muted">Not previewed: lots are sized by the trading system when it executes.</p>
        )}
        <p className="muted small">Sent once: a repeat or retry of this order returns the same execution.</p>
      </ConfirmDialog>
    );
  }

  const execution = order.execution;
  const running = order.phase === "live";
  return (
    <section
      className="block order"
      data-testid="order"
      data-phase={order.phase}
      data-status={execution?.status ?? "sending"}
    >
      {order.phase === "live" ? <LiveOrderFeed key={order.attempt} order={order} dispatch={dispatch} /> : null}
      <h3>
        Execution {execution ? <code>{execution.id}</code> : null}{" "}
        <span className={`status status-${execution?.status ?? "pending"}`} data-testid="execution-status">
          {execution?.status ?? "sending…"}
        </span>
      </h3>
      <p className="muted small">clientOrderId {order.clientOrderId}</p>
      {execution ? <ProgressBar value={execution.progress} label="execution progress" /> : null}
      {order.phase === "live" && order.error ? (
        <div className="order-error">
          <ErrorNote error={order.error} prefix="Lost track of the order" />
          <p className="small">
            {execution
              ? `Execution ${execution.id} exists. Retry follows it (nothing is sent again).`
              : describeError(order.error).kind === "outcome_unknown"
                ? "The trading system got the order and no answer came back: it may have been executed. Check the account before sending another; Retry asks again with the same clientOrderId and gets the same answer (the execution, once the gateway learns it), never a second order."
                : describeError(order.error).retryable
                  ? "The outcome is unknown. Retry asks again with the same clientOrderId: the gateway returns the same execution rather than a second one."
                  : "The order was refused; nothing was executed."}
          </p>
          <button type="button" onClick={() => dispatch({ type: "retry" })}>
            Retry
          </button>{" "}
          <button type="button" className="link" onClick={() => dispatch({ type: "abandon" })}>
            Dismiss
          </button>
        </div>
      ) : null}
      {execution?.error ? <p className="error-note">{execution.error}</p> : null}
      {execution ? (
        <>
          <ExecutionLegs execution={execution} testId="execution-legs" />
          <ExecutionFills execution={execution} />
        </>
      ) : null}
      <ErrorNote error={cancel.error} prefix="Cancel failed" />
      <div className="buttons">
        {running && execution && capabilities.executeInstructions ? (
          <button
            type="button"
            className="danger"
            disabled={cancel.isPending}
            onClick={() => cancel.mutate({ executionId: execution.id })}
          >
            {cancel.isPending ? "Cancelling…" : "Cancel execution"}
          </button>
        ) : null}
        {order.phase === "done" ? (
          <button type="button" onClick={() => dispatch({ type: "dismiss" })}>
            New order
          </button>
        ) : null}
      </div>
    </section>
  );
}

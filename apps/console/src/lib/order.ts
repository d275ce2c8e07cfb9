import type { Execution, Instruction } from "./types";

/** What the trader is about to send: the parsed instructions for the chosen accounts. */
export interface OrderDraft {
  instructions: Instruction[];
  accounts: string[];
}

/**
 * The life of one real order, from the Execute button to its last fill.
 *
 * The clientOrderId is made once, when the trader confirms, and kept with the order:
 * every (re)subscription and every Retry sends the same one, so the gateway answers a
 * repeat with the same execution instead of starting another. A second click on the
 * confirm button finds the order already sent and does nothing.
 */
export type OrderState =
  | { phase: "idle" }
  | { phase: "confirming"; draft: OrderDraft }
  | {
      phase: "live";
      draft: OrderDraft;
      clientOrderId: string;
      /** Bumped by Retry: a new subscription for the same order (same clientOrderId). */
      attempt: number;
      /** Set by a Retry once the execution is known: follow it rather than send anything. */
      followId: string | null;
      execution: Execution | null;
      /** The subscription failed; the outcome may be unknown until Retry or a status check. */
      error: unknown;
    }
  | { phase: "done"; draft: OrderDraft; clientOrderId: string; execution: Execution };

export type OrderAction =
  | { type: "request"; draft: OrderDraft }
  | { type: "back" }
  | { type: "confirm"; clientOrderId: string }
  | { type: "update"; execution: Execution }
  | { type: "fail"; error: unknown }
  | { type: "retry" }
  /** Give up on a failed order (after an error); the trader decides, nothing is re-sent. */
  | { type: "abandon" }
  | { type: "dismiss" };

export const idleOrder: OrderState = { phase: "idle" };

const TERMINAL: ReadonlySet<Execution["status"]> = new Set(["completed", "cancelled", "failed"]);

export function isTerminal(execution: Execution): boolean {
  return TERMINAL.has(execution.status);
}

export function orderReducer(state: OrderState, action: OrderAction): OrderState {
  switch (action.type) {
    case "request":
      // Only one order at a time: while one is live, Execute is not offered.
      return state.phase === "idle" || state.phase === "done" ? { phase: "confirming", draft: action.draft } : state;
    case "back":
      return state.phase === "confirming" ? idleOrder : state;
    case "confirm":
      // A double click lands here twice: the second finds the order already live and is ignored.
      if (state.phase !== "confirming") return state;
      return {
        phase: "live",
        draft: state.draft,
        clientOrderId: action.clientOrderId,
        attempt: 0,
        followId: null,
        execution: null,
        error: null,
      };
    case "update": {
      if (state.phase !== "live") return state;
      if (state.execution && state.execution.id !== action.execution.id) return state;
      if (state.execution && action.execution.updatedAt < state.execution.updatedAt) return state;
      if (isTerminal(action.execution)) {
        return { phase: "done", draft: state.draft, clientOrderId: state.clientOrderId, execution: action.execution };
      }
      return { ...state, execution: action.execution, error: null };
    }
    case "fail":
      return state.phase === "live" ? { ...state, error: action.error } : state;
    case "retry":
      if (state.phase !== "live" || state.error === null) return state;
      return { ...state, error: null, attempt: state.attempt + 1, followId: state.execution?.id ?? null };
    case "abandon":
      return state.phase === "live" && state.error !== null ? idleOrder : state;
    case "dismiss":
      return state.phase === "done" ? idleOrder : state;
  }
}

export type LiveSubscription =
  | {
      procedure: "executeLive";
      input: { instructions: Instruction[]; accounts: string[]; dryRun: false; clientOrderId: string };
    }
  | { procedure: "onExecution"; input: { executionId: string } };

/**
 * Which subscription carries a live order. First instruction.executeLive with the
 * order's clientOrderId (its own reconnects resume the same execution, and a repeat of
 * the call returns the same execution). A Retry after the execution's id is known uses
 * instruction.onExecution, which only follows and can never start anything, so a Retry
 * long after the first send is still safe.
 */
export function liveSubscription(state: Extract<OrderState, { phase: "live" }>): LiveSubscription {
  if (state.followId) return { procedure: "onExecution", input: { executionId: state.followId } };
  return {
    procedure: "executeLive",
    input: {
      instructions: state.draft.instructions,
      accounts: state.draft.accounts,
      dryRun: false,
      clientOrderId: state.clientOrderId,
    },
  };
}

/** Identifies what a parse or preview result was for: the same text and accounts. */
export function draftKey(text: string, accounts: readonly string[]): string {
  return JSON.stringify([text.trim(), [...accounts].sort()]);
}

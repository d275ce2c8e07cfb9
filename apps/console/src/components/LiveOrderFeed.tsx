import { useSubscription } from "@trpc/tanstack-react-query";
import type { Dispatch } from "react";
import { useDesk } from "../api/desk-context";
import { useTRPC } from "../api/trpc";
import { liveSubscription, type OrderAction, type OrderState } from "../lib/order";

type LiveOrder = Extract<OrderState, { phase: "live" }>;

/**
 * The subscription that carries a live order. Remounted (key = attempt) on Retry; the
 * ws link's own reconnects resend the same input with lastEventId, which resumes the
 * same execution. Updates and failures go to the order's reducer.
 */
export function LiveOrderFeed({ order, dispatch }: { order: LiveOrder; dispatch: Dispatch<OrderAction> }) {
  const plan = liveSubscription(order);
  return plan.procedure === "executeLive" ? (
    <ExecuteLive input={plan.input} dispatch={dispatch} />
  ) : (
    <FollowExecution executionId={plan.input.executionId} dispatch={dispatch} />
  );
}

function ExecuteLive({
  input,
  dispatch,
}: {
  input: Extract<ReturnType<typeof liveSubscription>, { procedure: "executeLive" }>["input"];
  dispatch: Dispatch<OrderAction>;
}) {
  const trpc = useTRPC();
  const { onStreamError } = useDesk();
  useSubscription(
    trpc.instruction.executeLive.subscriptionOptions(input, {
      onData: ({ data }) => dispatch({ type: "update", execution: data }),
      onError: (error) => {
        onStreamError(error);
        dispatch({ type: "fail", error });
      },
    }),
  );
  return null;
}

function FollowExecution({ executionId, dispatch }: { executionId: string; dispatch: Dispatch<OrderAction> }) {
  const trpc = useTRPC();
  const { onStreamError } = useDesk();
  useSubscription(
    trpc.instruction.onExecution.subscriptionOptions(
      { executionId },
      {
        onData: ({ data }) => dispatch({ type: "update", execution: data }),
        onError: (error) => {
          onStreamError(error);
          dispatch({ type: "fail", error });
        },
      },
    ),
  );
  return null;
}

import { type Execution, type ExecutionEvent, ExecutionId, contracts, topicOf, topics } from "@desk/contracts";
import { type TRPCRouterRecord, tracked } from "@trpc/server";
import { z } from "zod";
import { accountsOf, ownedBy } from "../authorization.js";
import { type CallerContext, backendCall } from "../backend-call.js";
import { eventIdOf, topicOfEventId } from "../backend/event-id.js";
import { streamFromSnapshot } from "../backend/stream.js";
import type { GatewayContext } from "../context.js";
import type { GatewayRuntime } from "../runtime.js";
import { LastEventId, streamOptions } from "../subscription.js";
import { authedProcedure, guardedProcedure } from "../trpc.js";
import { ClientOrderId, clientOrderRequestId } from "./client-order.js";

const [InstructionList, AccountList] = contracts.instruction_service.execute_instructions.args.def.items;
const terminal: ReadonlySet<string> = new Set(["completed", "cancelled", "failed"]);

const ExecuteInput = z.object({
  instructions: InstructionList,
  accounts: AccountList,
  dryRun: z.boolean().default(false).describe("price and size the legs, send nothing"),
  clientOrderId: ClientOrderId.optional(),
});

const execute = backendCall("instruction_service", "execute_instructions", {
  input: ExecuteInput,
  args: (input) => [input.instructions, input.accounts, input.dryRun],
  // A dry run sends nothing, so parsing rights suffice; a real one needs execute rights.
  permission: (input) => (input.dryRun ? "instruction:parse" : "instruction:execute"),
  accounts: (input) => input.accounts,
  requestId: (input, caller) =>
    input.clientOrderId === undefined ? undefined : clientOrderRequestId(caller.userId, input.clientOrderId),
  clientOrderId: (input) => input.clientOrderId,
});

const status = backendCall("instruction_service", "get_execution_status", {
  args: ["executionId"],
  // Checked on resume too: a crafted lastEventId must not open someone else's execution.
  result: ownedBy(accountsOf.execution),
});

type SubscriberContext = GatewayContext & CallerContext & { gateway: GatewayRuntime };

/**
 * Streams one execution until it reaches a terminal status: its current state,
 * then its execution.<id> events (stream.ts's streamFromSnapshot: nothing lost in between).
 */
function followExecution(
  ctx: SubscriberContext,
  executionId: string,
  lastEventId: string | null | undefined,
  signal: AbortSignal | undefined,
) {
  return streamFromSnapshot<Execution>({
    ...streamOptions(ctx, signal, "execution"),
    topic: topicOf("execution", executionId),
    lastEventId,
    snapshot: () => status.run(ctx, { executionId }),
    snapshotIsLast: (execution) => terminal.has(execution.status),
    map: (data) => (data as ExecutionEvent).execution,
    isLast: (event) => terminal.has((event.data as ExecutionEvent).execution.status),
  });
}

export const instructionRouter = {
  parse: backendCall("instruction_service", "parse_instructions", {
    permission: "instruction:parse",
    args: ["text", "accounts"],
    accounts: (input) => input.accounts,
  }).mutation("/instructions/parse", "Parse desk shorthand (双卖 500 当月 万1 的v)"),

  execute: execute.mutation("/instructions/execute", "Execute parsed instructions (dryRun to preview)"),

  status: status.query("/executions/{executionId}"),

  cancel: backendCall("instruction_service", "cancel_execution", {
    permission: "instruction:execute",
    args: ["executionId"],
    accounts: async (input, ctx) => accountsOf.execution(await status.run(ctx, input)),
  }).mutation("/executions/{executionId}/cancel"),

  /**
   * Starts an execution and streams it until it ends. On reconnect the ws link
   * resends the input with lastEventId: the execution is then resumed, never started twice.
   */
  executeLive: guardedProcedure({ audit: true })
    .input(ExecuteInput.extend({ lastEventId: LastEventId }))
    .subscription(async function* ({ ctx, input, signal }) {
      const resumedTopic = topicOfEventId(input.lastEventId);
      const { prefix } = topics.execution;
      if (resumedTopic?.startsWith(prefix)) {
        yield* followExecution(ctx, resumedTopic.slice(prefix.length), input.lastEventId, signal);
        return;
      }
      const started = await execute.run(ctx, input);
      yield tracked(eventIdOf(topicOf("execution", started.id), ctx.gateway.subscriber.currentSeq), started);
      if (terminal.has(started.status)) return;
      yield* followExecution(ctx, started.id, null, signal);
    }),

  /** Follows an execution started elsewhere (REST execute, another client) until it ends. */
  onExecution: authedProcedure
    .input(z.object({ executionId: ExecutionId, lastEventId: LastEventId }))
    .subscription(({ ctx, input, signal }) => followExecution(ctx, input.executionId, input.lastEventId, signal)),
} satisfies TRPCRouterRecord;

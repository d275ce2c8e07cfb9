import { type Execution, type ExecutionEvent, ExecutionId, contracts, topicOf, topics } from "@desk/contracts";
import type { TRPCRouterRecord, TrackedEnvelope } from "@trpc/server";
import { z } from "zod";
import { accountsOf, eventScope, ownedBy } from "../authorization.js";
import { type CallerContext, backendCall } from "../backend-call.js";
import { topicOfEventId } from "../backend/event-id.js";
import { type Source, type Stream, followWithSnapshot } from "../backend/stream.js";
import { LastEventId, type StreamCaller, openCallerStream, trpcFraming } from "../subscription.js";
import { authedProcedure, guardedProcedure } from "../trpc.js";
import { ClientOrderId, clientOrderRequestId } from "./client-order.js";

const [InstructionList, AccountList] = contracts.instruction_service.execute_instructions.args.def.items;
const terminal: ReadonlySet<string> = new Set(["completed", "cancelled", "failed"]);

/** instruction.execute, executeLive and socket.io's instruction:execute take this. */
export const ExecuteInput = z.object({
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

/** Who follows an execution: a stream's caller who may also call the backend (status, execute). */
export type ExecutionCaller = StreamCaller & CallerContext;

/**
 * Follows one execution in `stream` until it reaches a terminal status: its
 * current state (or `initial`, a state already known), then its execution.<id>
 * events; or, resumed with a lastEventId this process can replay from, the
 * buffered events after it. Nothing is lost in between (stream.ts's followWithSnapshot).
 */
export function followExecution(
  caller: ExecutionCaller,
  stream: Stream<unknown>,
  executionId: string,
  lastEventId: string | null | undefined,
  initial?: Execution,
): Promise<Source> {
  return followWithSnapshot<Execution>(
    stream,
    {
      kind: "execution",
      topic: topicOf("execution", executionId),
      lastEventId,
      initial,
      accept: eventScope(caller.user, "execution"),
      snapshot: () => status.run(caller, { executionId }),
      snapshotIsLast: (execution) => terminal.has(execution.status),
      map: (data) => (data as ExecutionEvent).execution,
      isLast: (event) => terminal.has((event.data as ExecutionEvent).execution.status),
    },
    caller.gateway.subscriber,
  );
}

/**
 * Starts an execution with execute's own checks (a dry run needs
 * instruction:parse, a real one instruction:execute; every account the caller's;
 * a clientOrderId makes the MDP requestId, so a repeat returns the same execution)
 * and follows it in `stream` until it ends, the started state first. What tRPC's
 * executeLive and socket.io's instruction:execute both run.
 */
export async function startExecution(
  caller: ExecutionCaller,
  stream: Stream<unknown>,
  input: z.output<typeof ExecuteInput>,
): Promise<{ started: Execution; source: Source }> {
  const started = await execute.run(caller, input);
  const source = await followExecution(caller, stream, started.id, null, started);
  return { started, source };
}

/** The execution a lastEventId was an event of, when it names one (a resumed executeLive). */
export function executionOfEventId(lastEventId: string | null | undefined): string | undefined {
  const topic = topicOfEventId(lastEventId);
  const { prefix } = topics.execution;
  return topic?.startsWith(prefix) ? topic.slice(prefix.length) : undefined;
}

/** A tRPC subscription over one execution stream (ends with the execution). */
async function executionSubscription(
  ctx: ExecutionCaller,
  signal: AbortSignal | undefined,
  run: (stream: Stream<unknown>) => Promise<unknown>,
): Promise<AsyncIterableIterator<TrackedEnvelope<Execution>>> {
  const stream = openCallerStream(ctx, trpcFraming, { signal, endWithSources: true });
  try {
    await run(stream);
  } catch (err) {
    stream.close();
    throw err;
  }
  return stream.events as AsyncIterableIterator<TrackedEnvelope<Execution>>;
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
    .subscription(({ ctx, input, signal }) => {
      const caller = { ...ctx, connection: ctx.connection };
      const resumed = executionOfEventId(input.lastEventId);
      return executionSubscription(caller, signal, (stream) =>
        resumed !== undefined
          ? followExecution(caller, stream, resumed, input.lastEventId)
          : startExecution(caller, stream, input),
      );
    }),

  /** Follows an execution started elsewhere (REST execute, another client) until it ends. */
  onExecution: authedProcedure
    .input(z.object({ executionId: ExecutionId, lastEventId: LastEventId }))
    .subscription(({ ctx, input, signal }) =>
      executionSubscription(ctx, signal, (stream) =>
        followExecution(ctx, stream, input.executionId, input.lastEventId),
      ),
    ),
} satisfies TRPCRouterRecord;

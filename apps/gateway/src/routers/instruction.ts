import { type Execution, type ExecutionEvent, ExecutionId, contracts, topicOf, topics } from "@desk/contracts";
import { TRPCError, tracked } from "@trpc/server";
import { z } from "zod";
import { openTopicStream } from "../backend/stream.js";
import { eventIdOf, seqOfEventId, topicOfEventId } from "../backend/subscriber.js";
import type { GatewayContext } from "../context.js";
import { type AuthUser, t } from "../trpc.js";
import { ClientOrderId, clientOrderRequestId } from "./client-order.js";
import { LastEventId, type RouterDeps, assertAccounts, streamDefaults } from "./deps.js";

const c = contracts.instruction_service;
const [InstructionList, AccountList] = c.execute_instructions.args.def.items;
const ByExecution = z.object({ executionId: ExecutionId });
const terminal: ReadonlySet<string> = new Set(["completed", "cancelled", "failed"]);

const ParseInput = z.object({
  text: c.parse_instructions.args.def.items[0],
  accounts: c.parse_instructions.args.def.items[1],
});
const ExecuteInput = z.object({
  instructions: InstructionList,
  accounts: AccountList,
  dryRun: z.boolean().default(false).describe("price and size the legs, send nothing"),
  clientOrderId: ClientOrderId.optional(),
});

export function instructionRouter(d: RouterDeps) {
  const { authedProcedure, withPermission } = d.procedures;
  const parse = withPermission("instruction:parse");

  function requireExecute(user: AuthUser, dryRun: boolean): void {
    // A dry run sends nothing, so parsing rights suffice; a real one needs execute rights.
    const needed = dryRun ? "instruction:parse" : "instruction:execute";
    if (!user.permissions.includes(needed) && !user.permissions.includes("admin")) {
      throw new TRPCError({ code: "FORBIDDEN", message: `Role ${user.role} lacks the ${needed} permission` });
    }
  }

  function assertExecutionVisible(user: AuthUser, execution: Execution): void {
    assertAccounts(user, [
      ...new Set([...execution.legs.map((l) => l.accountId), ...execution.fills.map((f) => f.accountId)]),
    ]);
  }

  async function visibleExecution(user: AuthUser, executionId: string): Promise<Execution> {
    const execution = await d.rpc.call("instruction_service", "get_execution_status", [executionId], {
      userId: user.userId,
    });
    assertExecutionVisible(user, execution);
    return execution;
  }

  async function startExecution(user: AuthUser, input: z.infer<typeof ExecuteInput>): Promise<Execution> {
    requireExecute(user, input.dryRun);
    assertAccounts(user, input.accounts);
    return d.rpc.call(
      "instruction_service",
      "execute_instructions",
      [input.instructions, input.accounts, input.dryRun],
      {
        userId: user.userId,
        ...(input.clientOrderId ? { requestId: clientOrderRequestId(user.userId, input.clientOrderId) } : {}),
      },
    );
  }

  /**
   * Streams one execution until it reaches a terminal status: a snapshot taken
   * after listening starts (so nothing published in between is lost), then its
   * execution.<id> events.
   */
  async function* followExecution(
    ctx: GatewayContext & { user: AuthUser },
    executionId: string,
    lastEventId: string | null | undefined,
    signal: AbortSignal | undefined,
  ) {
    const topic = topicOf("execution", executionId);
    const snapshotSeq = d.subscriber.currentSeq;
    // Listen before taking the snapshot: events after it arrive through the queue.
    const stream = openTopicStream<Execution>({
      ...streamDefaults(d, ctx, signal),
      kind: "execution",
      topics: [topic],
      lastEventId: lastEventId ?? eventIdOf(topic, snapshotSeq),
      map: (data) => (data as z.infer<typeof ExecutionEvent>).execution,
      isLast: (event) => terminal.has((event.data as z.infer<typeof ExecutionEvent>).execution.status),
    });
    try {
      // Checked on resume too: a crafted lastEventId must not open someone else's execution.
      const snapshot = await visibleExecution(ctx.user, executionId);
      // An id from an earlier gateway process (sequence ahead of ours) cannot be replayed: send the state instead.
      const since = seqOfEventId(lastEventId);
      if (!lastEventId || since === undefined || since > snapshotSeq) {
        yield tracked(eventIdOf(topic, snapshotSeq), snapshot);
        if (terminal.has(snapshot.status)) return;
      }
      yield* stream.events;
    } finally {
      stream.close();
    }
  }

  return t.router({
    parse: parse
      .meta({
        openapi: {
          method: "POST",
          path: "/instructions/parse",
          tags: ["instruction"],
          protect: true,
          summary: "Parse desk shorthand (双卖 500 当月 万1 的v)",
        },
      })
      .input(ParseInput)
      .output(c.parse_instructions.result)
      .mutation(({ ctx, input }) => {
        assertAccounts(ctx.user, input.accounts);
        return d.rpc.call("instruction_service", "parse_instructions", [input.text, input.accounts], {
          userId: ctx.user.userId,
        });
      }),

    execute: authedProcedure
      .meta({
        openapi: {
          method: "POST",
          path: "/instructions/execute",
          tags: ["instruction"],
          protect: true,
          summary: "Execute parsed instructions (dryRun to preview)",
        },
      })
      .input(ExecuteInput)
      .output(c.execute_instructions.result)
      .mutation(({ ctx, input }) => startExecution(ctx.user, input)),

    status: authedProcedure
      .meta({ openapi: { method: "GET", path: "/executions/{executionId}", tags: ["instruction"], protect: true } })
      .input(ByExecution)
      .output(c.get_execution_status.result)
      .query(({ ctx, input }) => visibleExecution(ctx.user, input.executionId)),

    cancel: withPermission("instruction:execute")
      .meta({
        openapi: { method: "POST", path: "/executions/{executionId}/cancel", tags: ["instruction"], protect: true },
      })
      .input(ByExecution)
      .output(c.cancel_execution.result)
      .mutation(async ({ ctx, input }) => {
        await visibleExecution(ctx.user, input.executionId);
        return d.rpc.call("instruction_service", "cancel_execution", [input.executionId], { userId: ctx.user.userId });
      }),

    /**
     * Starts an execution and streams it until it ends. On reconnect the ws link
     * resends the input with lastEventId: the execution is then resumed, never started twice.
     */
    executeLive: authedProcedure
      .input(ExecuteInput.extend({ lastEventId: LastEventId }))
      .subscription(async function* ({ ctx, input, signal }) {
        const resumedTopic = topicOfEventId(input.lastEventId);
        const { prefix } = topics.execution;
        if (resumedTopic?.startsWith(prefix)) {
          yield* followExecution(ctx, resumedTopic.slice(prefix.length), input.lastEventId, signal);
          return;
        }
        const started = await startExecution(ctx.user, input);
        const topic = topicOf("execution", started.id);
        yield tracked(eventIdOf(topic, d.subscriber.currentSeq), started);
        if (terminal.has(started.status)) return;
        yield* followExecution(ctx, started.id, null, signal);
      }),

    /** Follows an execution started elsewhere (REST execute, another client) until it ends. */
    onExecution: authedProcedure.input(ByExecution.extend({ lastEventId: LastEventId })).subscription(async function* ({
      ctx,
      input,
      signal,
    }) {
      yield* followExecution(ctx, input.executionId, input.lastEventId, signal);
    }),
  });
}

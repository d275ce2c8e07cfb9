import { type Market, parseInstructions } from "../domain/index.js";
import { conflict, invalid, notFound } from "../errors.js";
import { type AccountLeg, legsForAccount } from "../legs.js";
import type { AccountRecord, AccountStore } from "../state/accounts.js";
import type { ExecutionStore } from "../state/executions.js";
import type { ServiceHandlers } from "./types.js";

export interface InstructionServiceDeps {
  market: Market;
  accounts: AccountStore;
  executions: ExecutionStore;
}

export function createInstructionService(d: InstructionServiceDeps): ServiceHandlers<"instruction_service"> {
  const findAll = (ids: readonly string[]): AccountRecord[] =>
    ids.map((id) => {
      const a = d.accounts.get(id);
      if (!a) throw notFound(`no account ${id}`);
      return a;
    });
  const findExecution = (id: string) => {
    const e = d.executions.get(id);
    if (!e) throw notFound(`no execution ${id}`);
    return e;
  };

  return {
    parse_instructions([text, accounts]) {
      findAll(accounts);
      const parsed = parseInstructions(text, { today: d.market.today });
      if (!parsed.ok) {
        const { message, unread } = parsed.error;
        // Always name the part that could not be read, whatever the parser's wording.
        throw invalid(message.startsWith("cannot read") ? message : `cannot read "${unread}": ${message}`);
      }
      return { instructions: parsed.instructions, accounts };
    },
    execute_instructions([instructions, accountIds, dryRun], ctx) {
      const accounts = findAll(accountIds);
      const isDryRun = dryRun ?? false;
      if (!isDryRun) {
        const disabled = accounts.filter((a) => !a.enabled).map((a) => a.id);
        if (disabled.length > 0) throw conflict(`account ${disabled.join(", ")} is disabled`);
      }
      // Plan everything before creating anything: one bad leg refuses the whole execution.
      const legs: AccountLeg[] = [];
      for (const a of accounts) for (const i of instructions) legs.push(...legsForAccount(i, a, d.market));
      const execution = d.executions.create(legs, isDryRun, ctx.requestId);
      ctx.logger.info(
        { executionId: execution.id, legs: legs.length, dryRun: isDryRun, accounts: accountIds, userId: ctx.userId },
        "execution created",
      );
      return execution;
    },
    get_execution_status: ([id]) => findExecution(id),
    cancel_execution([id], ctx) {
      const e = d.executions.cancel(id);
      if (!e) throw notFound(`no execution ${id}`);
      ctx.logger.info({ executionId: id, userId: ctx.userId }, "execution cancelled");
      return e;
    },
  };
}

import { type AccountEvent, AccountId, contracts, topicOf } from "@desk/contracts";
import { z } from "zod";
import { canSeeAccount } from "../auth/permissions.js";
import { streamTopics } from "../backend/stream.js";
import { t } from "../trpc.js";
import { LastEventId, type RouterDeps, assertAccounts, streamDefaults } from "./deps.js";

const c = contracts.account_service;
const ByAccount = z.object({ accountId: AccountId });

export function accountRouter(d: RouterDeps) {
  const read = d.procedures.withPermission("account:read");
  const write = d.procedures.withPermission("account:write");
  return t.router({
    list: read
      .meta({
        openapi: {
          method: "GET",
          path: "/accounts",
          tags: ["account"],
          protect: true,
          summary: "Accounts you may see",
        },
      })
      .input(z.void())
      .output(c.get_accounts.result)
      .query(async ({ ctx }) => {
        const all = await d.rpc.call("account_service", "get_accounts", [], { userId: ctx.user.userId });
        return all.filter((a) => canSeeAccount(ctx.user, a.id));
      }),

    get: read
      .meta({ openapi: { method: "GET", path: "/accounts/{accountId}", tags: ["account"], protect: true } })
      .input(ByAccount)
      .output(c.get_account.result)
      .query(({ ctx, input }) => {
        assertAccounts(ctx.user, [input.accountId]);
        return d.rpc.call("account_service", "get_account", [input.accountId], { userId: ctx.user.userId });
      }),

    positions: read
      .meta({ openapi: { method: "GET", path: "/accounts/{accountId}/positions", tags: ["account"], protect: true } })
      .input(ByAccount)
      .output(c.get_positions.result)
      .query(({ ctx, input }) => {
        assertAccounts(ctx.user, [input.accountId]);
        return d.rpc.call("account_service", "get_positions", [input.accountId], { userId: ctx.user.userId });
      }),

    riskMetrics: read
      .meta({
        openapi: {
          method: "GET",
          path: "/accounts/{accountId}/risk",
          tags: ["account"],
          protect: true,
          summary: "Greeks and VaR",
        },
      })
      .input(ByAccount)
      .output(c.get_risk_metrics.result)
      .query(({ ctx, input }) => {
        assertAccounts(ctx.user, [input.accountId]);
        return d.rpc.call("account_service", "get_risk_metrics", [input.accountId], { userId: ctx.user.userId });
      }),

    verifyPositions: read
      .meta({
        openapi: {
          method: "GET",
          path: "/accounts/{accountId}/verify-positions",
          tags: ["account"],
          protect: true,
          summary: "Compare positions with the broker",
        },
      })
      .input(ByAccount)
      .output(c.verify_positions.result)
      .query(({ ctx, input }) => {
        assertAccounts(ctx.user, [input.accountId]);
        return d.rpc.call("account_service", "verify_positions", [input.accountId], { userId: ctx.user.userId });
      }),

    setEnabled: write
      .meta({
        openapi: {
          method: "POST",
          path: "/accounts/{accountId}/enabled",
          tags: ["account"],
          protect: true,
          summary: "Enable or disable trading",
        },
      })
      .input(z.object({ accountId: AccountId, enabled: c.set_account_enabled.args.def.items[1] }))
      .output(c.set_account_enabled.result)
      .mutation(({ ctx, input }) => {
        assertAccounts(ctx.user, [input.accountId]);
        return d.rpc.call("account_service", "set_account_enabled", [input.accountId, input.enabled], {
          userId: ctx.user.userId,
        });
      }),

    /** account.<id> events (balance, P&L, risk) for the given accounts. */
    onUpdate: read
      .input(z.object({ accountIds: z.array(AccountId).min(1).max(100), lastEventId: LastEventId }))
      .subscription(async function* ({ ctx, input, signal }) {
        assertAccounts(ctx.user, input.accountIds);
        yield* streamTopics<z.infer<typeof AccountEvent>>({
          ...streamDefaults(d, ctx, signal),
          kind: "account",
          topics: input.accountIds.map((id) => topicOf("account", id)),
          lastEventId: input.lastEventId,
        });
      }),
  });
}

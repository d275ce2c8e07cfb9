import { type AccountEvent, AccountId, topicOf } from "@desk/contracts";
import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { onlyVisible, requireAccounts } from "../authorization.js";
import { backendCall } from "../backend-call.js";
import { streamTopics } from "../backend/stream.js";
import { LastEventId, streamOptions } from "../subscription.js";
import { authedProcedure } from "../trpc.js";

const ofAccount = (input: { accountId: string }) => [input.accountId];

export const accountRouter = {
  list: backendCall("account_service", "get_accounts", {
    permission: "account:read",
    args: [],
    result: onlyVisible((account) => account.id),
  }).query("/accounts", "Accounts you may see"),

  get: backendCall("account_service", "get_account", {
    permission: "account:read",
    args: ["accountId"],
    accounts: ofAccount,
  }).query("/accounts/{accountId}"),

  positions: backendCall("account_service", "get_positions", {
    permission: "account:read",
    args: ["accountId"],
    accounts: ofAccount,
  }).query("/accounts/{accountId}/positions"),

  riskMetrics: backendCall("account_service", "get_risk_metrics", {
    permission: "account:read",
    args: ["accountId"],
    accounts: ofAccount,
  }).query("/accounts/{accountId}/risk", "Greeks and VaR"),

  verifyPositions: backendCall("account_service", "verify_positions", {
    permission: "account:read",
    args: ["accountId"],
    accounts: ofAccount,
  }).query("/accounts/{accountId}/verify-positions", "Compare positions with the broker"),

  setEnabled: backendCall("account_service", "set_account_enabled", {
    permission: "account:write",
    args: ["accountId", "enabled"],
    accounts: ofAccount,
  }).mutation("/accounts/{accountId}/enabled", "Enable or disable trading"),

  /** account.<id> events (balance, P&L, risk) for the given accounts. */
  onUpdate: authedProcedure
    .meta({ permission: "account:read" })
    .input(z.object({ accountIds: z.array(AccountId).min(1).max(100), lastEventId: LastEventId }))
    .subscription(({ ctx, input, signal }) => {
      requireAccounts(ctx.user, input.accountIds);
      return streamTopics<AccountEvent>({
        ...streamOptions(ctx, signal, "account"),
        topics: input.accountIds.map((id) => topicOf("account", id)),
        lastEventId: input.lastEventId,
      });
    }),
} satisfies TRPCRouterRecord;

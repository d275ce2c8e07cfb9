import { AccountId } from "@desk/contracts";
import type { TRPCRouterRecord } from "@trpc/server";
import { onlyVisible } from "../authorization.js";
import { backendCall } from "../backend-call.js";
import { topicFeed, topicSubscription } from "../subscription.js";

const ofAccount = (input: { accountId: string }) => [input.accountId];

/** What every read of one account declares: the permission, the account as the only arg, and that it is the caller's. */
const readOneAccount = { permission: "account:read", args: ["accountId"], accounts: ofAccount } as const;

/** account.<id> events (balance, P&L, risk): tRPC account.onUpdate, socket.io account:subscribe. */
export const accountUpdates = topicFeed("account", {
  permission: "account:read",
  field: "accountIds",
  id: AccountId,
  idsAreAccounts: true,
});

export const accountRouter = {
  list: backendCall("account_service", "get_accounts", {
    permission: "account:read",
    args: [],
    result: onlyVisible((account) => account.id),
  }).query("/accounts", "Accounts you may see"),

  get: backendCall("account_service", "get_account", readOneAccount).query("/accounts/{accountId}"),

  positions: backendCall("account_service", "get_positions", readOneAccount).query("/accounts/{accountId}/positions"),

  riskMetrics: backendCall("account_service", "get_risk_metrics", readOneAccount).query(
    "/accounts/{accountId}/risk",
    "Greeks and VaR",
  ),

  verifyPositions: backendCall("account_service", "verify_positions", readOneAccount).query(
    "/accounts/{accountId}/verify-positions",
    "Compare positions with the broker",
  ),

  setEnabled: backendCall("account_service", "set_account_enabled", {
    permission: "account:write",
    args: ["accountId", "enabled"],
    accounts: ofAccount,
  }).mutation("/accounts/{accountId}/enabled", "Enable or disable trading"),

  /** account.<id> events (balance, P&L, risk) for the given accounts. */
  onUpdate: topicSubscription(accountUpdates),
} satisfies TRPCRouterRecord;

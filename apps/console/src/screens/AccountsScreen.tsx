import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useDesk } from "../api/desk-context";
import { useNow, useStore } from "../api/hooks";
import { useTRPC } from "../api/trpc";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { ErrorNote } from "../components/ErrorNote";
import { MessageRow } from "../components/MessageRow";
import { replaceById } from "../lib/collections";
import { formatAge, formatSignedYuan, formatYuan } from "../lib/format";
import { routeHash } from "../lib/route";
import type { Account } from "../lib/types";

function pnlClass(value: number): string {
  return value > 0 ? "num up" : value < 0 ? "num down" : "num";
}

/** Accounts the user may see, live from account.onUpdate; the enabled toggle for roles that may write. */
export function AccountsScreen() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { capabilities, accountUpdates } = useDesk();
  const accounts = useQuery(trpc.account.list.queryOptions());
  const updates = useStore(accountUpdates);
  const now = useNow();
  const [pending, setPending] = useState<Account | null>(null);
  const setEnabled = useMutation(
    trpc.account.setEnabled.mutationOptions({
      onSuccess: (account) => {
        queryClient.setQueryData(trpc.account.list.queryKey(), (list) => replaceById(list, account));
        setPending(null);
      },
    }),
  );

  return (
    <div className="screen">
      <div className="screen-head">
        <h2>Accounts</h2>
        <span className="muted">{accounts.data ? `${accounts.data.length} visible to you` : ""}</span>
      </div>
      <ErrorNote error={accounts.error} />
      <ErrorNote error={setEnabled.error} prefix="Could not change the account" />
      <table className="grid" data-testid="accounts-table">
        <thead>
          <tr>
            <th>Account</th>
            <th>Broker</th>
            <th className="num">Balance</th>
            <th className="num">Available</th>
            <th className="num">Margin</th>
            <th className="num">Daily P&amp;L</th>
            <th className="num">Total P&amp;L</th>
            <th>Trading</th>
            <th className="num">Updated</th>
          </tr>
        </thead>
        <tbody>
          <MessageRow columns={9} text="Loading accounts…" when={accounts.isPending} />
          {(accounts.data ?? []).map((a) => (
            <tr key={a.id} data-account={a.id}>
              <td>
                <a href={routeHash({ screen: "positions", account: a.id })} className="account-link">
                  <strong>{a.id}</strong>
                </a>
                <div className="muted small">{a.name}</div>
              </td>
              <td>{a.broker}</td>
              <td className="num">{formatYuan(a.balance)}</td>
              <td className="num">{formatYuan(a.available)}</td>
              <td className="num">{formatYuan(a.margin)}</td>
              <td className={pnlClass(a.dailyPnl)}>{formatSignedYuan(a.dailyPnl)}</td>
              <td className={pnlClass(a.totalPnl)}>{formatSignedYuan(a.totalPnl)}</td>
              <td>
                {capabilities.toggleAccounts ? (
                  <button
                    type="button"
                    role="switch"
                    aria-checked={a.enabled}
                    aria-label={`Trading on ${a.id}`}
                    className={a.enabled ? "switch on" : "switch off"}
                    onClick={() => setPending(a)}
                  >
                    {a.enabled ? "Enabled" : "Disabled"}
                  </button>
                ) : (
                  <span className={a.enabled ? "badge ok" : "badge off"}>{a.enabled ? "Enabled" : "Disabled"}</span>
                )}
              </td>
              <td className="num muted">{updates[a.id] ? formatAge(now - updates[a.id]!) : "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {pending ? (
        <ConfirmDialog
          title={pending.enabled ? `Disable trading on ${pending.id}?` : `Enable trading on ${pending.id}?`}
          confirmLabel={pending.enabled ? "Disable trading" : "Enable trading"}
          tone={pending.enabled ? "danger" : "normal"}
          busy={setEnabled.isPending}
          onCancel={() => setPending(null)}
          onConfirm={() => {
            if (!setEnabled.isPending) setEnabled.mutate({ accountId: pending.id, enabled: !pending.enabled });
          }}
        >
          <p>
            {pending.name} ({pending.broker}).{" "}
            {pending.enabled
              ? "New executions on this account will be refused until it is enabled again."
              : "Executions on this account will be accepted again."}
          </p>
        </ConfirmDialog>
      ) : null}
    </div>
  );
}

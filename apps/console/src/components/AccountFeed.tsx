import { skipToken, useQuery, useQueryClient } from "@tanstack/react-query";
import { useSubscription } from "@trpc/tanstack-react-query";
import { useDesk } from "../api/desk-context";
import { useTRPC } from "../api/trpc";
import { replaceById } from "../lib/collections";

/** Positions carry prices and greeks that move with every account event; refetch them at most this often. */
const POSITIONS_REFRESH_MS = 2_000;

/**
 * account.onUpdate for every account the user may see, patched into the cached account
 * list and risk (so every screen shows the same live numbers), positions refetched.
 * Rendered once for the whole console.
 */
export function AccountFeed() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { accountUpdates, onStreamError } = useDesk();
  const accounts = useQuery(trpc.account.list.queryOptions());
  const accountIds = (accounts.data ?? []).map((a) => a.id).sort();

  useSubscription(
    trpc.account.onUpdate.subscriptionOptions(accountIds.length > 0 ? { accountIds } : skipToken, {
      onData: ({ data }) => {
        queryClient.setQueryData(trpc.account.list.queryKey(), (list) =>
          list ? replaceById(list, data.account) : list,
        );
        queryClient.setQueryData(trpc.account.riskMetrics.queryKey({ accountId: data.accountId }), data.risk);
        accountUpdates.set({ ...accountUpdates.get(), [data.accountId]: Date.now() });
        const positionsKey = trpc.account.positions.queryKey({ accountId: data.accountId });
        const fetched = queryClient.getQueryState(positionsKey)?.dataUpdatedAt ?? 0;
        if (Date.now() - fetched > POSITIONS_REFRESH_MS) void queryClient.invalidateQueries({ queryKey: positionsKey });
      },
      onError: onStreamError,
    }),
  );
  return null;
}

import { useQueries, useQuery } from "@tanstack/react-query";
import { useSubscription } from "@trpc/tanstack-react-query";
import { lazy, Suspense, useEffect, useMemo, useRef } from "react";
import { useDesk } from "../api/desk-context";
import { useHealth, useNow, useStore } from "../api/hooks";
import { useTRPC } from "../api/trpc";
import { ErrorNote } from "../components/ErrorNote";
import { MessageRow } from "../components/MessageRow";
import type { ConnectionStatus } from "../lib/connection";
import { formatAge, formatChange, formatPercent, formatPrice, formatYuan } from "../lib/format";
import { type Freshness, tickFreshness } from "../lib/freshness";
import { createStore } from "../lib/store";
import { createTickBook } from "../lib/tick-book";
import { marketSymbols, UNDERLYINGS } from "../lib/underlyings";

// lightweight-charts is a third of the bundle: loaded after login, not with the login page.
const PriceChart = lazy(() => import("../components/PriceChart").then((m) => ({ default: m.PriceChart })));

/** No tick for this long and a quote is shown as stale (the mock publishes every 5 s). */
const STALE_AFTER_MS = 15_000;
/** Ticks can arrive dozens a second; the screen redraws at most this often. */
const REDRAW_MS = 250;

function changeClass(change: number | undefined): string {
  return change === undefined || Math.abs(change) < 0.00005 ? "" : change > 0 ? "up" : "down";
}

function FreshnessBadge({ freshness, withReason }: { freshness: Freshness; withReason: boolean }) {
  return (
    <span className={`fresh fresh-${freshness.state}`} data-freshness={freshness.state} title={freshness.reason ?? ""}>
      {freshness.state}
      {withReason && freshness.reason && freshness.state !== "live" ? ` · ${freshness.reason}` : ""}
    </span>
  );
}

/** Live ticks for the underlyings and every held contract, a price chart per underlying, tick age and staleness. */
export function MarketScreen({ connection }: { connection: ConnectionStatus }) {
  const trpc = useTRPC();
  const { onStreamError } = useDesk();
  const health = useHealth();
  const now = useNow();
  const accounts = useQuery(trpc.account.list.queryOptions());
  const positions = useQueries({
    queries: (accounts.data ?? []).map((a) => trpc.account.positions.queryOptions({ accountId: a.id })),
  });
  const held = positions.flatMap((q) => q.data ?? []);
  const heldKey = held.map((p) => p.code).join(",");
  // biome-ignore lint/correctness/useExhaustiveDependencies: recomputed when the set of held codes changes, not on every price refresh
  const symbols = useMemo(() => marketSymbols(held), [heldKey]);
  const heldByCode = new Map(held.map((p) => [p.code, p]));

  const book = useRef(createTickBook()).current;
  const redraw = useRef(createStore(0)).current;
  const scheduled = useRef<ReturnType<typeof setTimeout> | null>(null);
  const version = useStore(redraw);
  useEffect(
    () => () => {
      if (scheduled.current) clearTimeout(scheduled.current);
    },
    [],
  );

  const ticks = useSubscription(
    trpc.market.onTick.subscriptionOptions(
      { symbols: [...symbols.underlyings, ...symbols.contracts] },
      {
        onData: ({ data }) => {
          book.apply(data, Date.now());
          scheduled.current ??= setTimeout(() => {
            scheduled.current = null;
            redraw.set(book.version);
          }, REDRAW_MS);
        },
        onError: onStreamError,
      },
    ),
  );

  const pubsubState = health.data && !health.isError ? health.data.pubsub.state : null;
  const freshnessOf = (symbol: string) =>
    tickFreshness({
      now,
      lastTickAt: book.quote(symbol)?.receivedAt ?? null,
      staleAfterMs: STALE_AFTER_MS,
      pubsubState,
      connection,
    });
  const names = new Map(UNDERLYINGS.map((u) => [u.code, u.name]));

  return (
    <div className="screen" data-version={version}>
      <div className="screen-head">
        <h2>Market</h2>
        <span className="muted">
          {symbols.underlyings.length} underlyings · {symbols.contracts.length} held contracts
        </span>
      </div>
      {/* While reconnecting the badge says so; only a feed that gave up is an error here. */}
      <ErrorNote error={ticks.status === "error" ? ticks.error : null} prefix="Market feed" />
      <div className="underlyings">
        {symbols.underlyings.map((code) => {
          const quote = book.quote(code);
          const freshness = freshnessOf(code);
          const tick = quote?.tick;
          return (
            <article
              key={code}
              className={`quote-card ${freshness.state}`}
              data-symbol={code}
              data-testid="quote-card"
              data-tick-ts={tick?.ts ?? ""}
            >
              <header>
                <div>
                  <strong>{tick?.name ?? names.get(code) ?? code}</strong> <span className="muted">{code}</span>
                </div>
                <FreshnessBadge freshness={freshness} withReason={false} />
              </header>
              <div className="quote-line">
                <span className="last" data-testid="last">
                  {formatPrice(tick?.last, 3)}
                </span>
                <span className={changeClass(tick?.change)}>{formatChange(tick?.change)}</span>
                <span className="muted small">
                  bid {formatPrice(tick?.bid, 3)} · ask {formatPrice(tick?.ask, 3)}
                </span>
              </div>
              <Suspense fallback={<div className="chart" />}>
                <PriceChart points={book.history(code)} version={version} stale={freshness.state !== "live"} />
              </Suspense>
              <footer className="muted small">
                <span data-testid="tick-age">
                  {freshness.ageMs === null ? "no tick yet" : `last tick ${formatAge(freshness.ageMs)} ago`}
                </span>
                {freshness.state === "stale" ? (
                  <span className="stale-reason">{freshness.reason}</span>
                ) : (
                  <span>vol {formatYuan(tick?.volume)}</span>
                )}
              </footer>
            </article>
          );
        })}
      </div>
      <p className="muted small attribution">
        Charts by{" "}
        <a href="https://www.tradingview.com/" target="_blank" rel="noreferrer">
          TradingView
        </a>{" "}
        Lightweight Charts™
      </p>
      <h3>Held contracts</h3>
      <table className="grid" data-testid="contracts-table">
        <thead>
          <tr>
            <th>Contract</th>
            <th className="num">Last</th>
            <th className="num">Bid</th>
            <th className="num">Ask</th>
            <th className="num">Change</th>
            <th className="num">IV</th>
            <th className="num">Delta</th>
            <th className="num" title="per vol point, per unit of underlying">
              Vega
            </th>
            <th className="num">Age</th>
            <th>State</th>
          </tr>
        </thead>
        <tbody>
          <MessageRow columns={10} text="No held contracts." when={symbols.contracts.length === 0} />
          {symbols.contracts.map((code) => {
            const tick = book.quote(code)?.tick;
            const option = tick?.kind === "option" ? tick : undefined;
            const freshness = freshnessOf(code);
            return (
              <tr key={code} data-symbol={code} className={freshness.state}>
                <td className="nowrap">
                  <div>{tick?.name ?? heldByCode.get(code)?.name ?? code}</div>
                  <div className="muted small">{code}</div>
                </td>
                <td className="num">{formatPrice(tick?.last)}</td>
                <td className="num">{formatPrice(tick?.bid)}</td>
                <td className="num">{formatPrice(tick?.ask)}</td>
                <td className={`num ${changeClass(tick?.change)}`}>{formatChange(tick?.change)}</td>
                <td className="num">{formatPercent(option?.iv, 1)}</td>
                <td className="num">{formatPrice(option?.greeks.delta, 3)}</td>
                <td className="num">{formatPrice(option?.greeks.vega, 4)}</td>
                <td className="num muted">{formatAge(freshness.ageMs)}</td>
                <td>
                  <FreshnessBadge freshness={freshness} withReason={true} />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

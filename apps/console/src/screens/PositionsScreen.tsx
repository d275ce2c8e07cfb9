import { useQuery } from "@tanstack/react-query";
import { useTRPC } from "../api/trpc";
import { ErrorNote } from "../components/ErrorNote";
import { MessageRow } from "../components/MessageRow";
import { formatPrice, formatQuantity, formatSignedYuan, formatTime, formatYuan } from "../lib/format";
import { positionSide, positionTotals } from "../lib/positions";
import { routeHash } from "../lib/route";
import type { RiskMetrics } from "../lib/types";

function signClass(value: number): string {
  return value > 0 ? "num up" : value < 0 ? "num down" : "num";
}

/** Positions of one account with greeks and totals, its risk panel and verify_positions on demand. */
export function PositionsScreen({ selected }: { selected: string | null }) {
  const trpc = useTRPC();
  const accounts = useQuery(trpc.account.list.queryOptions());
  const accountId = selected ?? accounts.data?.[0]?.id ?? null;
  const account = accounts.data?.find((a) => a.id === accountId);

  return (
    <div className="screen">
      <div className="screen-head">
        <h2>Positions &amp; risk</h2>
        <label className="inline">
          Account{" "}
          <select
            value={accountId ?? ""}
            onChange={(e) => {
              window.location.hash = routeHash({ screen: "positions", account: e.target.value });
            }}
            data-testid="positions-account"
          >
            {(accounts.data ?? []).map((a) => (
              <option key={a.id} value={a.id}>
                {a.id} · {a.name}
              </option>
            ))}
          </select>
        </label>
        {account ? <span className="muted">{account.broker}</span> : null}
      </div>
      <ErrorNote error={accounts.error} />
      {accountId ? <AccountPositions accountId={accountId} /> : null}
    </div>
  );
}

function AccountPositions({ accountId }: { accountId: string }) {
  const trpc = useTRPC();
  const positions = useQuery(trpc.account.positions.queryOptions({ accountId }));
  const risk = useQuery(trpc.account.riskMetrics.queryOptions({ accountId }));
  const rows = positions.data ?? [];
  const totals = positionTotals(rows);
  return (
    <div className="positions-layout">
      <div className="positions-main">
        <ErrorNote error={positions.error} />
        <table className="grid" data-testid="positions-table">
          <thead>
            <tr>
              <th>Contract</th>
              <th>Side</th>
              <th className="num">Qty</th>
              <th className="num">Unit</th>
              <th className="num">Avg</th>
              <th className="num">Last</th>
              <th className="num">P&amp;L</th>
              <th className="num" title="cash delta, yuan">
                Δ ¥
              </th>
              <th className="num" title="change of cash delta for a 1% move, yuan">
                Γ 1%
              </th>
              <th className="num" title="yuan per vol point">
                Vega
              </th>
              <th className="num" title="yuan per trading day">
                Θ /day
              </th>
            </tr>
          </thead>
          <tbody>
            <MessageRow columns={11} text="Loading positions…" when={positions.isPending} />
            <MessageRow columns={11} text="No positions." when={positions.isSuccess && rows.length === 0} />
            {rows.map((p) => (
              <tr key={p.code} data-code={p.code}>
                <td className="nowrap">
                  <div>{p.name}</div>
                  <div className="muted small">
                    {p.code} · {p.expiry}
                  </div>
                </td>
                <td>
                  <span className={`side side-${positionSide(p.quantity)}`}>{positionSide(p.quantity)}</span>
                </td>
                <td className={signClass(p.quantity)}>{formatQuantity(p.quantity)}</td>
                <td className="num muted">
                  {p.multiplier === 10_000 ? (
                    "10,000"
                  ) : (
                    <strong title="adjusted contract">{formatYuan(p.multiplier)}</strong>
                  )}
                </td>
                <td className="num">{formatPrice(p.avgPrice)}</td>
                <td className="num">{formatPrice(p.lastPrice)}</td>
                <td className={signClass(p.pnl)}>{formatSignedYuan(p.pnl)}</td>
                <td className={signClass(p.greeks.delta)}>{formatSignedYuan(p.greeks.delta)}</td>
                <td className={signClass(p.greeks.gamma)}>{formatSignedYuan(p.greeks.gamma)}</td>
                <td className={signClass(p.greeks.vega)}>{formatSignedYuan(p.greeks.vega)}</td>
                <td className={signClass(p.greeks.theta)}>{formatSignedYuan(p.greeks.theta)}</td>
              </tr>
            ))}
          </tbody>
          {rows.length > 0 ? (
            <tfoot>
              <tr data-testid="positions-totals">
                <th>Total ({rows.length})</th>
                <th />
                <th className="num">{formatQuantity(totals.quantity)}</th>
                <th />
                <th />
                <th />
                <th className={signClass(totals.pnl)}>{formatSignedYuan(totals.pnl)}</th>
                <th className={signClass(totals.delta)}>{formatSignedYuan(totals.delta)}</th>
                <th className={signClass(totals.gamma)}>{formatSignedYuan(totals.gamma)}</th>
                <th className={signClass(totals.vega)}>{formatSignedYuan(totals.vega)}</th>
                <th className={signClass(totals.theta)}>{formatSignedYuan(totals.theta)}</th>
              </tr>
            </tfoot>
          ) : null}
        </table>
        <VerifyPositions accountId={accountId} />
      </div>
      <aside className="risk-panel" data-testid="risk-panel">
        <h3>
          Risk <span className="muted small">yuan</span>
        </h3>
        <ErrorNote error={risk.error} />
        {risk.data ? <RiskFigures risk={risk.data} /> : <p className="muted">Loading risk…</p>}
      </aside>
    </div>
  );
}

function RiskFigures({ risk }: { risk: RiskMetrics }) {
  const figures: Array<[string, string, number, string]> = [
    ["Cash delta", "cashDelta", risk.cashDelta, "Δ·S·unit·qty"],
    ["Gamma", "gamma", risk.gamma, "cash-delta change per 1% move"],
    ["Vega", "vega", risk.vega, "per vol point"],
    ["Theta", "theta", risk.theta, "per trading day"],
  ];
  return (
    <>
      <dl className="figures">
        {figures.map(([label, key, value, hint]) => (
          <div key={key} data-figure={key}>
            <dt title={hint}>{label}</dt>
            <dd className={signClass(value)}>{formatSignedYuan(value)}</dd>
          </div>
        ))}
        <div data-figure="var95">
          <dt title="1-day, 95%, delta-gamma, as a loss">VaR 95%</dt>
          <dd className="num down">{formatYuan(risk.var95)}</dd>
        </div>
        <div data-figure="var99">
          <dt title="1-day, 99%, delta-gamma, as a loss">VaR 99%</dt>
          <dd className="num down">{formatYuan(risk.var99)}</dd>
        </div>
      </dl>
      {risk.byUnderlying.length > 0 ? (
        <table className="grid compact">
          <thead>
            <tr>
              <th>Underlying</th>
              <th className="num">Δ ¥</th>
              <th className="num">Γ 1%</th>
              <th className="num">Vega</th>
              <th className="num">Θ</th>
            </tr>
          </thead>
          <tbody>
            {risk.byUnderlying.map((u) => (
              <tr key={u.underlying}>
                <td>{u.underlying}</td>
                <td className={signClass(u.cashDelta)}>{formatSignedYuan(u.cashDelta)}</td>
                <td className={signClass(u.gamma)}>{formatSignedYuan(u.gamma)}</td>
                <td className={signClass(u.vega)}>{formatSignedYuan(u.vega)}</td>
                <td className={signClass(u.theta)}>{formatSignedYuan(u.theta)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <p className="muted small">as of {formatTime(risk.asOf)}</p>
    </>
  );
}

/** verify_positions on demand: the trading system's book against the broker's. */
function VerifyPositions({ accountId }: { accountId: string }) {
  const trpc = useTRPC();
  const check = useQuery({ ...trpc.account.verifyPositions.queryOptions({ accountId }), enabled: false, retry: false });
  const result = check.data;
  return (
    <div className="verify" data-testid="verify">
      <button type="button" onClick={() => void check.refetch()} disabled={check.isFetching}>
        {check.isFetching ? "Verifying…" : "Verify positions with broker"}
      </button>
      <ErrorNote error={check.error} prefix="Verify failed" />
      {result ? (
        result.matched ? (
          <span className="badge ok" data-testid="verify-result">
            Matches the broker · checked {formatTime(result.checkedAt)}
          </span>
        ) : (
          <div data-testid="verify-result">
            <span className="badge warn">
              {result.mismatches.length} difference{result.mismatches.length === 1 ? "" : "s"} with the broker · checked{" "}
              {formatTime(result.checkedAt)}
            </span>
            <table className="grid compact">
              <thead>
                <tr>
                  <th>Contract</th>
                  <th className="num">Ours</th>
                  <th className="num">Broker</th>
                  <th className="num">Difference</th>
                </tr>
              </thead>
              <tbody>
                {result.mismatches.map((m) => (
                  <tr key={m.code}>
                    <td>{m.code}</td>
                    <td className="num">{formatQuantity(m.local)}</td>
                    <td className="num">{formatQuantity(m.broker)}</td>
                    <td className="num down">{formatQuantity(m.broker - m.local)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )
      ) : null}
    </div>
  );
}

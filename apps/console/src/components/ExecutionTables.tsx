import { formatPrice, formatSide, formatSignedYuan, formatYuan } from "../lib/format";
import type { Execution } from "../lib/types";

/** The priced legs of an execution (a preview's or a live one's), per account. */
export function ExecutionLegs({ execution, testId }: { execution: Execution; testId: string }) {
  return (
    <table className="grid compact" data-testid={testId}>
      <thead>
        <tr>
          <th>Leg</th>
          <th>Account</th>
          <th>Contract</th>
          <th>Side</th>
          <th className="num">Strike</th>
          <th>Expiry</th>
          <th className="num">Lots</th>
          <th className="num">Filled</th>
          <th className="num">Avg price</th>
          <th>Status</th>
        </tr>
      </thead>
      <tbody>
        {execution.legs.map((leg) => (
          <tr key={leg.legId} data-leg={leg.legId}>
            <td className="muted small">{leg.legId.replace(`${execution.id}-`, "")}</td>
            <td>{leg.accountId}</td>
            <td className="nowrap">
              {leg.name} <span className="muted small">{leg.code}</span>
            </td>
            <td className={leg.side === "sell" ? "down" : "up"}>{formatSide(leg.side)}</td>
            <td className="num">{formatPrice(leg.strike, 3)}</td>
            <td>{leg.expiry}</td>
            <td className="num">{formatYuan(leg.targetQuantity)}</td>
            <td className="num">{formatYuan(leg.filledQuantity)}</td>
            <td className="num">{formatPrice(leg.avgPrice)}</td>
            <td>
              {/* A dry run "fills" at the touch without sending anything: call it what it is. */}
              <span className={`status status-${leg.status}`}>
                {execution.dryRun && leg.status === "filled" ? "priced" : leg.status}
              </span>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** What each account gets: lots and net premium (received > 0). */
export function ExecutionFills({ execution }: { execution: Execution }) {
  return (
    <table className="grid compact fills" data-testid="execution-fills">
      <thead>
        <tr>
          <th>Account</th>
          <th className="num">Legs</th>
          <th className="num">Lots filled / target</th>
          <th className="num">Premium ¥</th>
        </tr>
      </thead>
      <tbody>
        {execution.fills.map((f) => (
          <tr key={f.accountId}>
            <td>{f.accountId}</td>
            <td className="num">{f.legs}</td>
            <td className="num">
              {formatYuan(f.filledQuantity)} / {formatYuan(f.targetQuantity)}
            </td>
            <td className={f.premium >= 0 ? "num up" : "num down"}>{formatSignedYuan(f.premium)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

import { skipToken, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useSubscription } from "@trpc/tanstack-react-query";
import { Fragment, useState } from "react";
import { useDesk } from "../api/desk-context";
import { useTRPC } from "../api/trpc";
import { ErrorNote } from "../components/ErrorNote";
import { MessageRow } from "../components/MessageRow";
import { ProgressBar } from "../components/ProgressBar";
import { appendBounded, replaceById } from "../lib/collections";
import { formatTime, formatYuan } from "../lib/format";
import { visibleCommands } from "../lib/permissions";
import type { AlgorithmCommand, AlgorithmLog } from "../lib/types";

const MAX_LOG_LINES = 500;
const sameLog = (a: AlgorithmLog, b: AlgorithmLog) => a.time === b.time && a.message === b.message;

const COMMAND_LABELS: Readonly<Record<AlgorithmCommand, string>> = {
  start: "Start",
  pause: "Pause",
  resume: "Resume",
  stop: "Stop",
};

/** Algorithms with live status and progress, commands for roles that may control them, logs on demand. */
export function AlgorithmsScreen() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { capabilities, onStreamError } = useDesk();
  const algorithms = useQuery(trpc.algorithm.list.queryOptions());
  const ids = (algorithms.data ?? []).map((a) => a.id).sort();
  const [openLogs, setOpenLogs] = useState<ReadonlySet<string>>(new Set());

  useSubscription(
    trpc.algorithm.onProgress.subscriptionOptions(ids.length > 0 ? { algorithmIds: ids } : skipToken, {
      onData: ({ data }) => {
        queryClient.setQueryData(trpc.algorithm.list.queryKey(), (list) =>
          list ? replaceById(list, data.algorithm) : list,
        );
        const log = data.log;
        if (log) {
          queryClient.setQueryData(trpc.algorithm.logs.queryKey({ algorithmId: data.algorithmId }), (logs) =>
            logs ? appendBounded(logs, log, MAX_LOG_LINES, sameLog) : logs,
          );
        }
      },
      onError: onStreamError,
    }),
  );

  const command = useMutation(
    trpc.algorithm.command.mutationOptions({
      onSuccess: (algorithm) =>
        queryClient.setQueryData(trpc.algorithm.list.queryKey(), (list) => replaceById(list, algorithm)),
    }),
  );

  const toggleLogs = (id: string) =>
    setOpenLogs((open) => {
      const next = new Set(open);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  return (
    <div className="screen">
      <div className="screen-head">
        <h2>Algorithms</h2>
        {!capabilities.controlAlgorithms ? <span className="muted">read-only for your role</span> : null}
      </div>
      <ErrorNote error={algorithms.error} />
      <ErrorNote error={command.error} prefix="Command refused" />
      <table className="grid" data-testid="algorithms-table">
        <thead>
          <tr>
            <th>Algorithm</th>
            <th>Kind</th>
            <th>Account</th>
            <th>Status</th>
            <th className="wide">Progress</th>
            <th className="num">Filled / target</th>
            <th className="num">Updated</th>
            <th>Actions</th>
          </tr>
        </thead>
        <tbody>
          <MessageRow columns={8} text="Loading algorithms…" when={algorithms.isPending} />
          {(algorithms.data ?? []).map((a) => (
            <Fragment key={a.id}>
              <tr data-algorithm={a.id}>
                <td>
                  <strong>{a.id}</strong>
                  <div className="muted small">{a.name}</div>
                </td>
                <td>{a.kind}</td>
                <td>{a.accountId}</td>
                <td>
                  <span className={`status status-${a.status}`} data-testid="algorithm-status">
                    {a.status}
                  </span>
                </td>
                <td>
                  <ProgressBar value={a.progress} label={`${a.id} progress`} />
                </td>
                <td className="num">
                  {formatYuan(a.filledQuantity)} / {formatYuan(a.targetQuantity)}
                </td>
                <td className="num muted">{formatTime(a.updatedAt)}</td>
                <td className="actions">
                  {visibleCommands(capabilities, a.status).map((c) => (
                    <button
                      key={c}
                      type="button"
                      className={c === "stop" ? "small danger" : "small"}
                      disabled={command.isPending}
                      onClick={() => command.mutate({ algorithmId: a.id, command: c })}
                    >
                      {COMMAND_LABELS[c]}
                    </button>
                  ))}
                  <button
                    type="button"
                    className="small link"
                    aria-expanded={openLogs.has(a.id)}
                    onClick={() => toggleLogs(a.id)}
                  >
                    {openLogs.has(a.id) ? "Hide logs" : "Logs"}
                  </button>
                </td>
              </tr>
              {openLogs.has(a.id) ? (
                <tr className="logs-row">
                  <td colSpan={8}>
                    <AlgorithmLogs algorithmId={a.id} />
                  </td>
                </tr>
              ) : null}
            </Fragment>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function AlgorithmLogs({ algorithmId }: { algorithmId: string }) {
  const trpc = useTRPC();
  const logs = useQuery(trpc.algorithm.logs.queryOptions({ algorithmId }, { staleTime: Number.POSITIVE_INFINITY }));
  return (
    <div className="logs" data-testid="algorithm-logs">
      <ErrorNote error={logs.error} />
      {logs.isPending ? <span className="muted">Loading logs…</span> : null}
      {logs.data && logs.data.length === 0 ? <span className="muted">No log lines.</span> : null}
      <ol>
        {[...(logs.data ?? [])].reverse().map((line) => (
          <li key={`${line.time}-${line.message}`} className={`log-${line.level}`}>
            <time>{formatTime(line.time)}</time> <span className="level">{line.level}</span> {line.message}
          </li>
        ))}
      </ol>
    </div>
  );
}

import { notFound } from "../errors.js";
import type { EventSink } from "../events.js";
import type { AlgorithmStore } from "../state/algorithms.js";
import type { ServiceHandlers } from "./types.js";

export function createAlgorithmService(
  algorithms: AlgorithmStore,
  events: EventSink,
): ServiceHandlers<"algorithm_service"> {
  return {
    get_algorithms: () => algorithms.list(),
    get_algorithm([id]) {
      const a = algorithms.get(id);
      if (!a) throw notFound(`no algorithm ${id}`);
      return a;
    },
    send_algorithm_command([id, command], ctx) {
      const out = algorithms.command(id, command, ctx.userId);
      if (!out) throw notFound(`no algorithm ${id}`);
      ctx.logger.info({ algorithmId: id, command, userId: ctx.userId }, "algorithm command");
      events.algorithm(out.algorithm, out.log);
      return out.algorithm;
    },
    get_algorithm_logs([id]) {
      const logs = algorithms.logs(id);
      if (!logs) throw notFound(`no algorithm ${id}`);
      return logs;
    },
  };
}

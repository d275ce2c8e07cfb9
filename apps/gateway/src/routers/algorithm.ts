import { type AlgorithmEvent, AlgorithmId, contracts, topicOf } from "@desk/contracts";
import { z } from "zod";
import { canSeeAccount } from "../auth/permissions.js";
import { streamTopics } from "../backend/stream.js";
import { t } from "../trpc.js";
import { LastEventId, type RouterDeps, assertAccounts, streamDefaults } from "./deps.js";

const c = contracts.algorithm_service;
const ByAlgorithm = z.object({ algorithmId: AlgorithmId });

export function algorithmRouter(d: RouterDeps) {
  const read = d.procedures.withPermission("algorithm:read");
  const control = d.procedures.withPermission("algorithm:control");

  /** An algorithm trades for one account: seeing or controlling it needs that account. */
  async function visibleAlgorithm(user: Parameters<typeof assertAccounts>[0], algorithmId: string) {
    const algorithm = await d.rpc.call("algorithm_service", "get_algorithm", [algorithmId], { userId: user.userId });
    assertAccounts(user, [algorithm.accountId]);
    return algorithm;
  }

  return t.router({
    list: read
      .meta({ openapi: { method: "GET", path: "/algorithms", tags: ["algorithm"], protect: true } })
      .input(z.void())
      .output(c.get_algorithms.result)
      .query(async ({ ctx }) => {
        const all = await d.rpc.call("algorithm_service", "get_algorithms", [], { userId: ctx.user.userId });
        return all.filter((a) => canSeeAccount(ctx.user, a.accountId));
      }),

    get: read
      .meta({ openapi: { method: "GET", path: "/algorithms/{algorithmId}", tags: ["algorithm"], protect: true } })
      .input(ByAlgorithm)
      .output(c.get_algorithm.result)
      .query(({ ctx, input }) => visibleAlgorithm(ctx.user, input.algorithmId)),

    logs: read
      .meta({ openapi: { method: "GET", path: "/algorithms/{algorithmId}/logs", tags: ["algorithm"], protect: true } })
      .input(ByAlgorithm)
      .output(c.get_algorithm_logs.result)
      .query(async ({ ctx, input }) => {
        await visibleAlgorithm(ctx.user, input.algorithmId);
        return d.rpc.call("algorithm_service", "get_algorithm_logs", [input.algorithmId], { userId: ctx.user.userId });
      }),

    command: control
      .meta({
        openapi: {
          method: "POST",
          path: "/algorithms/{algorithmId}/command",
          tags: ["algorithm"],
          protect: true,
          summary: "start, pause, resume or stop",
        },
      })
      .input(z.object({ algorithmId: AlgorithmId, command: c.send_algorithm_command.args.def.items[1] }))
      .output(c.send_algorithm_command.result)
      .mutation(async ({ ctx, input }) => {
        await visibleAlgorithm(ctx.user, input.algorithmId);
        return d.rpc.call("algorithm_service", "send_algorithm_command", [input.algorithmId, input.command], {
          userId: ctx.user.userId,
        });
      }),

    /** algorithm.<id> progress events; events of algorithms on accounts you cannot see are withheld. */
    onProgress: read
      .input(z.object({ algorithmIds: z.array(AlgorithmId).min(1).max(100), lastEventId: LastEventId }))
      .subscription(async function* ({ ctx, input, signal }) {
        const user = ctx.user;
        yield* streamTopics<z.infer<typeof AlgorithmEvent>>({
          ...streamDefaults(d, ctx, signal),
          kind: "algorithm",
          topics: input.algorithmIds.map((id) => topicOf("algorithm", id)),
          lastEventId: input.lastEventId,
          accept: (event) => canSeeAccount(user, (event.data as z.infer<typeof AlgorithmEvent>).algorithm.accountId),
        });
      }),
  });
}

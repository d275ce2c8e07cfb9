import { type AlgorithmEvent, AlgorithmId, topicOf } from "@desk/contracts";
import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { accountsOf, onlyVisible, ownedBy } from "../authorization.js";
import { type CallerContext, backendCall } from "../backend-call.js";
import { streamTopics } from "../backend/stream.js";
import { LastEventId, streamOptions } from "../subscription.js";
import { authedProcedure } from "../trpc.js";

const getAlgorithm = backendCall("algorithm_service", "get_algorithm", {
  permission: "algorithm:read",
  args: ["algorithmId"],
  // An algorithm trades for one account: seeing or controlling it needs that account.
  result: ownedBy(accountsOf.algorithm),
});

/** The account of the algorithm an input names (a lookup, itself scoped). */
const ofAlgorithm = async (input: { algorithmId: string }, ctx: CallerContext) =>
  accountsOf.algorithm(await getAlgorithm.run(ctx, input));

export const algorithmRouter = {
  list: backendCall("algorithm_service", "get_algorithms", {
    permission: "algorithm:read",
    args: [],
    result: onlyVisible((algorithm) => algorithm.accountId),
  }).query("/algorithms"),

  get: getAlgorithm.query("/algorithms/{algorithmId}"),

  logs: backendCall("algorithm_service", "get_algorithm_logs", {
    permission: "algorithm:read",
    args: ["algorithmId"],
    accounts: ofAlgorithm,
  }).query("/algorithms/{algorithmId}/logs"),

  command: backendCall("algorithm_service", "send_algorithm_command", {
    permission: "algorithm:control",
    args: ["algorithmId", "command"],
    accounts: ofAlgorithm,
  }).mutation("/algorithms/{algorithmId}/command", "start, pause, resume or stop"),

  /** algorithm.<id> progress events; events of algorithms on accounts you cannot see are withheld. */
  onProgress: authedProcedure
    .meta({ permission: "algorithm:read" })
    .input(z.object({ algorithmIds: z.array(AlgorithmId).min(1).max(100), lastEventId: LastEventId }))
    .subscription(({ ctx, input, signal }) =>
      streamTopics<AlgorithmEvent>({
        ...streamOptions(ctx, signal, "algorithm"),
        topics: input.algorithmIds.map((id) => topicOf("algorithm", id)),
        lastEventId: input.lastEventId,
      }),
    ),
} satisfies TRPCRouterRecord;

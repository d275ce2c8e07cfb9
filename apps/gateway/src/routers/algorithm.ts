import { AlgorithmId } from "@desk/contracts";
import type { TRPCRouterRecord } from "@trpc/server";
import { accountsOf, onlyVisible, ownedBy } from "../authorization.js";
import { type CallerContext, backendCall } from "../backend-call.js";
import { topicFeed, topicSubscription } from "../subscription.js";

const getAlgorithm = backendCall("algorithm_service", "get_algorithm", {
  permission: "algorithm:read",
  args: ["algorithmId"],
  // An algorithm trades for one account: seeing or controlling it needs that account.
  result: ownedBy(accountsOf.algorithm),
});

/** The account of the algorithm an input names (a lookup, itself scoped). */
const ofAlgorithm = async (input: { algorithmId: string }, ctx: CallerContext) =>
  accountsOf.algorithm(await getAlgorithm.run(ctx, input));

/** algorithm.<id> progress events, those of others' accounts withheld: tRPC algorithm.onProgress, socket.io algorithm:subscribe. */
export const algorithmUpdates = topicFeed("algorithm", {
  permission: "algorithm:read",
  field: "algorithmIds",
  id: AlgorithmId,
});

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
  onProgress: topicSubscription(algorithmUpdates),
} satisfies TRPCRouterRecord;

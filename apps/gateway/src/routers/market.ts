import { ContractCode } from "@desk/contracts";
import type { TRPCRouterRecord } from "@trpc/server";
import { topicFeed, topicSubscription } from "../subscription.js";

/** market.<symbol> ticks (underlyings and options): tRPC market.onTick, socket.io market:subscribe. */
export const marketTicks = topicFeed("market", {
  permission: "market:read",
  field: "symbols",
  id: ContractCode,
  max: 500,
});

export const marketRouter = {
  /** market.<symbol> ticks (underlyings and options). */
  onTick: topicSubscription(marketTicks),
} satisfies TRPCRouterRecord;

import { ContractCode } from "@desk/contracts";
import type { TRPCRouterRecord } from "@trpc/server";
import { topicSubscription } from "../subscription.js";

export const marketRouter = {
  /** market.<symbol> ticks (underlyings and options). */
  onTick: topicSubscription("market", { permission: "market:read", field: "symbols", id: ContractCode, max: 500 }),
} satisfies TRPCRouterRecord;

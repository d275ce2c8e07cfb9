import { ContractCode, type MarketTick, topicOf } from "@desk/contracts";
import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { streamTopics } from "../backend/stream.js";
import { LastEventId, streamOptions } from "../subscription.js";
import { authedProcedure } from "../trpc.js";

export const marketRouter = {
  /** market.<symbol> ticks (underlyings and options). */
  onTick: authedProcedure
    .meta({ permission: "market:read" })
    .input(z.object({ symbols: z.array(ContractCode).min(1).max(500), lastEventId: LastEventId }))
    // The stream itself is the subscription (no generator around it): ticks are the
    // gateway's hottest path, one pass per tick per subscriber.
    .subscription(({ ctx, input, signal }) =>
      streamTopics<MarketTick>({
        ...streamOptions(ctx, signal, "market"),
        topics: input.symbols.map((s) => topicOf("market", s)),
        lastEventId: input.lastEventId,
      }),
    ),
} satisfies TRPCRouterRecord;

import { ContractCode, type MarketTick, topicOf } from "@desk/contracts";
import { z } from "zod";
import { streamTopics } from "../backend/stream.js";
import { t } from "../trpc.js";
import { LastEventId, type RouterDeps, streamDefaults } from "./deps.js";

export function marketRouter(d: RouterDeps) {
  const read = d.procedures.withPermission("market:read");
  return t.router({
    /** market.<symbol> ticks (underlyings and options). */
    onTick: read
      .input(z.object({ symbols: z.array(ContractCode).min(1).max(500), lastEventId: LastEventId }))
      // The stream itself is the subscription (no generator around it): ticks are the
      // gateway's hottest path, one pass per tick per subscriber.
      .subscription(({ ctx, input, signal }) =>
        streamTopics<z.infer<typeof MarketTick>>({
          ...streamDefaults(d, ctx, signal),
          kind: "market",
          topics: input.symbols.map((s) => topicOf("market", s)),
          lastEventId: input.lastEventId,
        }),
      ),
  });
}

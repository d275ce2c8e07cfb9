import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { errorStatuses } from "../backend-call.js";
import { HealthReport } from "../health.js";
import { publicProcedure } from "../trpc.js";

export const systemRouter = {
  /** Same report as GET /health (public: load balancers and dashboards read it without a token). */
  health: publicProcedure
    .meta({
      openapi: {
        method: "GET",
        path: "/system/health",
        tags: ["system"],
        // Public: load balancers and dashboards poll it without a token.
        protect: false,
        errorResponses: errorStatuses({ path: "/system/health", write: false }, "GET", { protect: false }),
      },
    })
    .input(z.void())
    .output(HealthReport)
    .query(({ ctx }) => ctx.gateway.health()),
} satisfies TRPCRouterRecord;

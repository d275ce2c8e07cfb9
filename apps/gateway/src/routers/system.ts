import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { routeMeta } from "../backend-call.js";
import { HealthReport } from "../health.js";
import { publicProcedure } from "../trpc.js";

export const systemRouter = {
  /** Same report as GET /health (public: load balancers and dashboards read it without a token). */
  health: publicProcedure
    // Public: load balancers and dashboards poll it without a token.
    .meta(routeMeta({ method: "GET", path: "/system/health", tag: "system", protect: false }))
    .input(z.void())
    .output(HealthReport)
    .query(({ ctx }) => ctx.gateway.health()),
} satisfies TRPCRouterRecord;

import { z } from "zod";
import { HealthReport } from "../health.js";
import { t } from "../trpc.js";
import type { RouterDeps } from "./deps.js";

export function systemRouter(d: RouterDeps) {
  return t.router({
    /** Same report as GET /health (public: load balancers and dashboards read it without a token). */
    health: d.procedures.publicProcedure
      .meta({ openapi: { method: "GET", path: "/system/health", tags: ["system"] } })
      .input(z.void())
      .output(HealthReport)
      .query(() => d.health()),
  });
}

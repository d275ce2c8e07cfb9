import { accountRouter } from "./routers/account.js";
import { algorithmRouter } from "./routers/algorithm.js";
import { authRouter } from "./routers/auth.js";
import { instructionRouter } from "./routers/instruction.js";
import { marketRouter } from "./routers/market.js";
import { systemRouter } from "./routers/system.js";
import { createTRPCRouter } from "./trpc.js";

/** The whole API, one router per domain. Its services come with each request's context (runtime.ts). */
export const appRouter = createTRPCRouter({
  auth: authRouter,
  account: accountRouter,
  algorithm: algorithmRouter,
  instruction: instructionRouter,
  market: marketRouter,
  system: systemRouter,
});

/** The router's type: all the SDK imports from the gateway. */
export type AppRouter = typeof appRouter;

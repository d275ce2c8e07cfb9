import { accountRouter } from "./routers/account.js";
import { algorithmRouter } from "./routers/algorithm.js";
import { authRouter } from "./routers/auth.js";
import type { RouterDeps } from "./routers/deps.js";
import { instructionRouter } from "./routers/instruction.js";
import { marketRouter } from "./routers/market.js";
import { systemRouter } from "./routers/system.js";
import { t } from "./trpc.js";

/** The whole API: one router per domain, built per gateway instance. */
export function createAppRouter(deps: RouterDeps) {
  return t.router({
    auth: authRouter(deps),
    account: accountRouter(deps),
    algorithm: algorithmRouter(deps),
    instruction: instructionRouter(deps),
    market: marketRouter(deps),
    system: systemRouter(deps),
  });
}

/** The router's type: all the SDK imports from the gateway. */
export type AppRouter = ReturnType<typeof createAppRouter>;

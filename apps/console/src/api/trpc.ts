import type { AppRouter } from "@desk/sdk";
import { createTRPCContext } from "@trpc/tanstack-react-query";

// tRPC's TanStack React Query integration: `useTRPC()` gives queryOptions / mutationOptions /
// subscriptionOptions factories typed from the gateway's router; the client underneath is
// the SDK's (its links, token handling and reconnects).
export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

import type { ServiceHandlers as ContractHandlers, ServiceName } from "@desk/contracts";
import type { MdpLogger } from "@desk/mdp";

/** Who called, from kwargs["_ctx"] (the gateway enforces permissions; the mock only logs it). */
export interface CallContext {
  userId: string;
  requestId: string;
  logger: MdpLogger;
}

/** A service: one plain function per contract method (@desk/contracts' ServiceHandlers), given the caller. */
export type ServiceHandlers<S extends ServiceName> = ContractHandlers<S, CallContext>;

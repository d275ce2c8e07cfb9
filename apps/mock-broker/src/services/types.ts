import type { ArgsOf, MethodName, ResultOf, ServiceName } from "@desk/contracts";
import type { MdpLogger } from "@desk/mdp";

/** Who called, from kwargs["_ctx"] (the gateway enforces permissions; the mock only logs it). */
export interface CallContext {
  userId: string;
  requestId: string;
  logger: MdpLogger;
}

/** A service: one plain function per contract method, from validated args to a result. */
export type ServiceHandlers<S extends ServiceName> = {
  [M in MethodName<S>]: (args: ArgsOf<S, M>, ctx: CallContext) => ResultOf<S, M> | Promise<ResultOf<S, M>>;
};

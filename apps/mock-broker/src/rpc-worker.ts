import {
  type ErrorCode,
  describeIssues,
  formatBackendError,
  getMethodContract,
  RpcContext,
  type ServiceName,
} from "@desk/contracts";
import { type CurveClientKeys, type MdpHandler, type MdpLogger, MdpWorker } from "@desk/mdp";
import { dumps, loads } from "@desk/pickle";
import { ServiceError } from "./errors.js";
import type { CallContext } from "./services/types.js";

/**
 * The generic worker of every mock service, vn.py RPC style:
 *   pickle([method, args, kwargs]) -> check the envelope -> check args against
 *   the method's contract -> call the handler -> pickle([True, result]) or
 *   pickle([False, "<CODE>: message"]).
 * Nothing a caller sends can kill it: every failure becomes a [False, ...] reply.
 * Duplicate requestIds never reach the handler: MdpWorker answers them from its reply cache.
 */
type AnyHandler = (args: never, ctx: CallContext) => unknown;
export type HandlerTable = Readonly<Record<string, AnyHandler>>;

const errorReply = (code: ErrorCode, message: string): Buffer => dumps([false, formatBackendError(code, message)]);

function describe(value: unknown): string {
  if (value === null) return "None";
  if (Array.isArray(value)) return `a list of ${value.length}`;
  return typeof value;
}

/** Turns any thrown value into a wire reply; ServiceError keeps its code, anything else is INTERNAL. */
function replyForError(err: unknown, logger: MdpLogger, where: object): Buffer {
  if (err instanceof ServiceError) return errorReply(err.code, err.message);
  logger.error({ err, ...where }, "mock service: handler failed");
  return errorReply("INTERNAL", err instanceof Error ? err.message : String(err));
}

export function createRpcHandler(service: ServiceName, handlers: HandlerTable, logger: MdpLogger): MdpHandler {
  return async (payload, mdp) => {
    let request: unknown;
    try {
      request = loads(payload);
    } catch (err) {
      logger.warn({ service, requestId: mdp.requestId, err: String(err) }, "mock service: undecodable request");
      return errorReply(
        "INVALID_ARGUMENT",
        `cannot decode request: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    if (
      !Array.isArray(request) ||
      request.length < 2 ||
      request.length > 3 ||
      typeof request[0] !== "string" ||
      !Array.isArray(request[1])
    ) {
      return errorReply("INVALID_ARGUMENT", `expected [method, args, kwargs], got ${describe(request)}`);
    }
    const [method, rawArgs, kwargs] = request as [string, unknown[], unknown];
    const contract = getMethodContract(service, method);
    const handler = Object.hasOwn(handlers, method) ? handlers[method] : undefined;
    if (!contract || !handler) return errorReply("NOT_FOUND", `${service} has no method "${method.slice(0, 100)}"`);

    // kwargs["_ctx"] says who asked; a caller without it (a Python script) is logged as anonymous.
    const rawCtx = kwargs !== null && typeof kwargs === "object" ? (kwargs as Record<string, unknown>)._ctx : undefined;
    const parsedCtx = rawCtx === undefined ? undefined : RpcContext.safeParse(rawCtx);
    if (parsedCtx && !parsedCtx.success)
      return errorReply("INVALID_ARGUMENT", `bad kwargs._ctx: ${describeIssues(parsedCtx.error, "_ctx")}`);
    const ctx: CallContext = {
      userId: parsedCtx?.data.userId ?? "anonymous",
      requestId: parsedCtx?.data.requestId ?? mdp.requestId,
      logger,
    };
    const where = { service, method, userId: ctx.userId, requestId: ctx.requestId };

    const args = contract.args.safeParse(rawArgs);
    if (!args.success) {
      logger.debug({ ...where, issues: describeIssues(args.error) }, "mock service: bad args");
      return errorReply("INVALID_ARGUMENT", `${method}: ${describeIssues(args.error, "args")}`);
    }
    const log = contract.kind === "write" ? logger.info.bind(logger) : logger.debug.bind(logger);
    log(where, `${service}.${method}`);
    try {
      const result = await handler(args.data as never, ctx);
      // The mock's own answers are held to the contract: a mismatch is our bug, reported as such.
      const checked = contract.result.safeParse(result);
      if (!checked.success) {
        logger.error(
          { ...where, issues: describeIssues(checked.error, "result") },
          "mock service: result breaks its contract",
        );
        return errorReply(
          "INTERNAL",
          `mock ${service}.${method} built a bad result: ${describeIssues(checked.error, "result")}`,
        );
      }
      return dumps([true, result]);
    } catch (err) {
      return replyForError(err, logger, where);
    }
  };
}

export interface ServiceWorkerOptions {
  endpoint: string;
  service: ServiceName;
  handlers: HandlerTable;
  logger: MdpLogger;
  heartbeatInterval?: number;
  /** CURVE: the worker's pair and the broker key it pins. */
  curve?: CurveClientKeys;
}

/** One MdpWorker serving one service through the generic handler. */
export async function startServiceWorker(o: ServiceWorkerOptions): Promise<MdpWorker> {
  const worker = new MdpWorker({
    endpoint: o.endpoint,
    service: o.service,
    handler: createRpcHandler(o.service, o.handlers, o.logger),
    // Only reached if the handler itself throws (it catches everything): still answer in the wire format.
    errorReply: (err) => errorReply("INTERNAL", err instanceof Error ? err.message : String(err)),
    heartbeatInterval: o.heartbeatInterval,
    reconnect: o.heartbeatInterval,
    curve: o.curve,
    logger: o.logger,
  });
  await worker.start();
  return worker;
}

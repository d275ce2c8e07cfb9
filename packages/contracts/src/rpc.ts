import { z } from "zod";
import { ErrorCode } from "./common.js";

/**
 * Wire shapes of one call (vn.py RPC convention, see DESIGN.md):
 *   payload = pickle([method, args, kwargs])   kwargs = { _ctx: RpcContext }
 *   reply   = pickle([true, result]) | pickle([false, errorMessage])
 */

/** Who asked, forwarded to Python in kwargs so it can audit. */
export const RpcContext = z.object({
  userId: z.string(),
  requestId: z.string(),
});

export const RpcKwargs = z.looseObject({ _ctx: RpcContext });

/** [method, args, kwargs]; args is a tuple in Python, a list once decoded. */
export const RpcRequest = z.tuple([z.string().min(1), z.array(z.unknown()), RpcKwargs]);

export const RpcSuccessReply = z.tuple([z.literal(true), z.unknown()]);
export const RpcErrorReply = z.tuple([z.literal(false), z.string()]);
export const RpcReply = z.union([RpcSuccessReply, RpcErrorReply]);

/** What a backend error means once its message is parsed. */
export const BackendError = z.object({
  code: ErrorCode,
  message: z.string(),
});

export type RpcContext = z.infer<typeof RpcContext>;
export type RpcKwargs = z.infer<typeof RpcKwargs>;
export type RpcRequest = z.infer<typeof RpcRequest>;
export type RpcSuccessReply = z.infer<typeof RpcSuccessReply>;
export type RpcErrorReply = z.infer<typeof RpcErrorReply>;
export type RpcReply = z.infer<typeof RpcReply>;
export type BackendError = z.infer<typeof BackendError>;

const errorCodes: ReadonlySet<string> = new Set(ErrorCode.options);
const codePrefix = new RegExp(`(?:^|\\s|:\\s)(${ErrorCode.options.join("|")}):\\s?(.*)$`, "s");

/** "NOT_FOUND: no account x" — the message format the workers send in [false, message]. */
export function formatBackendError(code: ErrorCode, message: string): string {
  if (!errorCodes.has(code)) throw new TypeError(`unknown backend error code: ${String(code)}`);
  return `${code}: ${message}`;
}

/**
 * Reads a backend error message into { code, message }.
 *
 * The Python side may send our "<CODE>: message" form, or (vn.py style) a whole
 * traceback whose last line is "SomeError: <CODE>: message", or plain text. A
 * message without a code is INTERNAL, and a traceback is reduced to its last line
 * so stack frames never reach a browser.
 */
export function parseBackendError(raw: string): BackendError {
  const text = String(raw).trim();
  const lines = text.split(/\r?\n/).filter((l) => l.trim().length > 0);
  const last = (lines.at(-1) ?? "").trim();
  const isTraceback = text.startsWith("Traceback (most recent call last):");

  const atStart = /^([A-Z_]+):\s?(.*)$/s.exec(text);
  if (atStart && errorCodes.has(atStart[1]!)) {
    return { code: atStart[1] as ErrorCode, message: atStart[2]!.trim() };
  }
  const inLast = codePrefix.exec(last);
  if (inLast) return { code: inLast[1] as ErrorCode, message: inLast[2]!.trim() };

  const message = isTraceback ? last : text;
  return { code: "INTERNAL", message: message.length > 0 ? message : "backend error" };
}

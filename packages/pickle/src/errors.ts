/**
 * Every failure of this package is a PickleError with a machine-readable code, so
 * callers (the gateway) can tell hostile or broken input from an unavailable helper.
 */
export type PickleErrorCode =
  | "TRUNCATED" // the stream ends before an opcode, argument or STOP
  | "BAD_OPCODE" // a byte that is no pickle opcode
  | "FORBIDDEN_GLOBAL" // a global (class/function) that is not allow-listed
  | "LIMIT_EXCEEDED" // a size/depth/memo limit of LoadOptions/DumpOptions
  | "MALFORMED" // structurally invalid (stack underflow, bad memo ref, bad state...)
  | "UNSUPPORTED" // valid pickle we choose not to handle (persistent ids, extensions, out-of-band buffers, unencodable JS values)
  | "HELPER_FAILED" // the Python helper process died, timed out or could not start
  | "CLOSED"; // the codec was closed

export class PickleError extends Error {
  readonly code: PickleErrorCode;
  /**
   * For FORBIDDEN_GLOBAL: the module and name the stream asked for.
   * (Not `err.name`/`err.module`: `name` is Error's own class-name property.)
   */
  readonly global?: { readonly module: string; readonly name: string };
  /** Byte offset of the opcode that failed, when decoding. */
  readonly offset?: number;

  constructor(
    code: PickleErrorCode,
    message: string,
    extra?: { global?: { module: string; name: string }; offset?: number; cause?: unknown },
  ) {
    super(message, extra?.cause === undefined ? undefined : { cause: extra.cause });
    this.name = "PickleError";
    this.code = code;
    if (extra?.global) this.global = extra.global;
    if (extra?.offset !== undefined) this.offset = extra.offset;
  }
}

export function forbiddenGlobal(module: string, name: string, why = "is not in the allow-list"): PickleError {
  return new PickleError("FORBIDDEN_GLOBAL", `global ${module}.${name} ${why}`, { global: { module, name } });
}

export { dumps, type DumpOptions } from "./dumps.js";
export { loads } from "./loads.js";
export type { LoadLimits, LoadOptions } from "./options.js";
export { PickleError, type PickleErrorCode } from "./errors.js";
export { tuple, asTuple, isTuple, type PyTuple } from "./tuple.js";
export { frozenset, asFrozenSet, isFrozenSet, type PyFrozenSet } from "./frozenset.js";
export {
  type GlobalHandler,
  type GlobalsMap,
  PyGlobal,
  PyCall,
  PyTimezone,
  pyCall,
  defaultGlobals,
  datetimeGlobals,
  decimalGlobals,
  enumGlobal,
  dataclassGlobal,
} from "./globals.js";
export { type PickleCodec, createNativeCodec } from "./codec.js";
export { type PythonCodecOptions, createPythonCodec } from "./python-codec.js";

/**
 * zod schemas a UI validates its forms with, the same ones the gateway checks its
 * inputs against (`import { ExecuteInstructionsInput } from "@desk/sdk/schemas"`).
 * A separate entry point: an app that does not import it bundles no schema code.
 * zod is a peer dependency, so these compose with the app's own `z`. Each name is
 * also the inferred type (`Instruction`, `ExecuteInstructionsInput`, ...).
 */
export {
  AccountId,
  ClientOrderId,
  CloseInstruction,
  ContractCode,
  ExecuteInstructionsInput,
  Instruction,
  InstructionType,
  Month,
  ParseInstructionsInput,
  Right,
  RollInstruction,
  Side,
  SingleInstruction,
  Size,
  StraddleInstruction,
  StrikeSelector,
  UnderlyingCode,
} from "@desk/contracts";

import { expect } from "vitest";
import { type LoadOptions, PickleError, loads } from "./exports.js";

/** The PickleError loads throws for data (fails the test if it decodes). */
export function refusal(data: Uint8Array, o?: LoadOptions): PickleError {
  try {
    loads(data, o);
  } catch (e) {
    expect(e).toBeInstanceOf(PickleError);
    return e as PickleError;
  }
  throw new Error("stream was accepted");
}

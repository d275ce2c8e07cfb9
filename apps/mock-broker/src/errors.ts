import type { ErrorCode } from "@desk/contracts";

/**
 * What a service handler throws to answer [False, "<CODE>: message"]. Any other
 * exception is a bug in the mock and goes out as INTERNAL.
 */
export class ServiceError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "ServiceError";
  }
}

export const notFound = (what: string): ServiceError => new ServiceError("NOT_FOUND", what);
export const invalid = (what: string): ServiceError => new ServiceError("INVALID_ARGUMENT", what);
export const conflict = (what: string): ServiceError => new ServiceError("CONFLICT", what);

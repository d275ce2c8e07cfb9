import { TRPCClientError } from "@trpc/client";
import { describe, expect, it } from "vitest";
import { GatewayError, isGatewayError, reconnectDelay, toGatewayError } from "../src/index.js";

function clientError(code: string, httpStatus: number): TRPCClientError<never> {
  return new TRPCClientError("boom", {
    result: { error: { code: -1, message: "boom", data: { code, httpStatus, path: "x.y" } } },
  } as never);
}

describe("toGatewayError", () => {
  it.each([
    ["UNAUTHORIZED", 401, "unauthorized"],
    ["FORBIDDEN", 403, "forbidden"],
    ["SERVICE_UNAVAILABLE", 503, "backend_unavailable"],
    ["BAD_GATEWAY", 502, "backend_unavailable"],
    ["TIMEOUT", 408, "timeout"],
    ["GATEWAY_TIMEOUT", 504, "timeout"],
    ["BAD_REQUEST", 400, "validation"],
    ["NOT_FOUND", 404, "not_found"],
    ["TOO_MANY_REQUESTS", 429, "rate_limited"],
    ["CONFLICT", 409, "unknown"],
    ["SOMETHING_NEW", 418, "unknown"],
  ])("maps %s/%d to %s", (code, status, kind) => {
    const e = toGatewayError(clientError(code, status));
    expect(e).toBeInstanceOf(GatewayError);
    expect(e.kind).toBe(kind);
    expect(e.code).toBe(code);
    expect(e.httpStatus).toBe(status);
    expect(e.path).toBe("x.y");
  });

  it("reads a write of unknown outcome (504 with data.outcome) as outcome_unknown, with its ids, never retryable", () => {
    const data = {
      code: "GATEWAY_TIMEOUT",
      httpStatus: 504,
      path: "instruction.execute",
      outcome: "unknown",
      service: "instruction_service",
      method: "execute_instructions",
      requestId: "co-abc",
      clientOrderId: "order-1",
    };
    const e = toGatewayError(
      new TRPCClientError("Outcome unknown: ...", { result: { error: { code: -1, message: "x", data } } } as never),
    );
    expect(e.kind).toBe("outcome_unknown");
    expect(e.unknownOutcome).toEqual({
      requestId: "co-abc",
      clientOrderId: "order-1",
      service: "instruction_service",
      method: "execute_instructions",
    });
    expect(e.retryable).toBe(false);
    // A plain 504 without the marker stays a timeout.
    expect(toGatewayError(clientError("GATEWAY_TIMEOUT", 504)).unknownOutcome).toBeUndefined();
  });

  it("falls back to httpStatus when the code is unknown", () => {
    expect(toGatewayError(clientError("WHATEVER", 429)).kind).toBe("rate_limited");
  });

  it("treats a TRPCClientError without data (no answer) as backend_unavailable", () => {
    const e = toGatewayError(TRPCClientError.from(new TypeError("fetch failed")));
    expect(e.kind).toBe("backend_unavailable");
    expect(e.retryable).toBe(true);
  });

  it("wraps plain values and keeps GatewayErrors as they are", () => {
    expect(toGatewayError("weird").kind).toBe("unknown");
    expect(toGatewayError(new Error("x")).message).toBe("x");
    const g = new GatewayError({ kind: "forbidden", message: "no" });
    expect(toGatewayError(g)).toBe(g);
    expect(isGatewayError(g, "forbidden")).toBe(true);
    expect(isGatewayError(g, "timeout")).toBe(false);
    expect(g.retryable).toBe(false);
  });
});

describe("reconnectDelay", () => {
  it("adds jitter to an exponential, capped delay", () => {
    const o = { baseMs: 100, maxMs: 1_000, jitterMs: 50 };
    expect(reconnectDelay(0, o, () => 0)).toBe(0);
    expect(reconnectDelay(0, o, () => 0.999)).toBe(50);
    expect(reconnectDelay(1, o, () => 0)).toBe(100);
    expect(reconnectDelay(3, o, () => 0)).toBe(400);
    expect(reconnectDelay(20, o, () => 0.5)).toBe(1_025);
  });

  it("spreads clients out: the first attempt is not the same for everyone", () => {
    const delays = new Set(Array.from({ length: 50 }, () => reconnectDelay(0)));
    expect(delays.size).toBeGreaterThan(10);
  });
});

import { describe, expect, expectTypeOf, it } from "vitest";
import { type Position, readReply } from "../src/index.js";
import { account1, shortCall } from "./fixtures.js";

describe("readReply", () => {
  it("returns a typed result for a reply that matches the contract", () => {
    const out = readReply("account_service", "get_positions", [true, [shortCall, { ...shortCall, extra: 1 }]]);
    expect(out).toEqual({ ok: true, result: [shortCall, shortCall] });
    if (out.ok) expectTypeOf(out.result).toEqualTypeOf<Position[]>();
  });

  it("turns [false, message] into a BackendError", () => {
    expect(readReply("account_service", "get_account", [false, "NOT_FOUND: account9"])).toEqual({
      ok: false,
      error: { code: "NOT_FOUND", message: "account9" },
    });
  });

  it("reports a result that breaks the contract as INTERNAL, naming the field", () => {
    const out = readReply("account_service", "get_positions", [true, [{ ...shortCall, quantity: 1.5 }]]);
    expect(out.ok).toBe(false);
    if (!out.ok) {
      expect(out.error.code).toBe("INTERNAL");
      expect(out.error.message).toContain("account_service.get_positions");
      expect(out.error.message).toContain("result.0.quantity");
    }
  });

  it("reports a malformed envelope as INTERNAL", () => {
    for (const bad of [account1, [true], ["yes", 1], [false, 42], null]) {
      const out = readReply("account_service", "get_account", bad);
      expect(out.ok).toBe(false);
      if (!out.ok) expect(out.error.code).toBe("INTERNAL");
    }
  });
});

import { GatewayError } from "@desk/sdk";
import { describe, expect, it } from "vitest";
import { describeError, errorLine, loginErrorLine } from "../src/lib/errors";

/** What @trpc/client throws, structurally (the SDK reads name + data, not instanceof). */
function trpcError(message: string, data?: { code: string; httpStatus: number }) {
  return Object.assign(new Error(message), { name: "TRPCClientError", data });
}

describe("describeError", () => {
  it("names the missing permission on a 403", () => {
    const r = describeError(
      trpcError("Role viewer lacks the instruction:execute permission", { code: "FORBIDDEN", httpStatus: 403 }),
    );
    expect(r.kind).toBe("forbidden");
    expect(r.missingPermission).toBe("instruction:execute");
    expect(r.title).toBe("Not allowed: your role (viewer) lacks the instruction:execute permission");
  });

  it("names the accounts on an account 403", () => {
    const r = describeError(trpcError("No access to account(s): account3", { code: "FORBIDDEN", httpStatus: 403 }));
    expect(r.title).toBe("Not allowed: no access to account3");
    expect(r.missingPermission).toBeNull();
  });

  it("names the service that is down on a 503", () => {
    const r = describeError(
      trpcError("account_service is unavailable: no worker is registered with the broker", {
        code: "SERVICE_UNAVAILABLE",
        httpStatus: 503,
      }),
    );
    expect(r.service).toBe("account_service");
    expect(r.title).toBe("account_service is unavailable");
    expect(r.detail).toBe("no worker is registered with the broker");
    expect(r.retryable).toBe(true);
    const coded = describeError(
      trpcError("instruction_service is unavailable (WORKER_LOST): worker went away", {
        code: "SERVICE_UNAVAILABLE",
        httpStatus: 503,
      }),
    );
    expect(coded.service).toBe("instruction_service");
    expect(coded.detail).toBe("worker went away");
  });

  it("says to check, never to retry, when a write's outcome is unknown (with its ids)", () => {
    const err = Object.assign(new Error("Outcome unknown: instruction_service.execute_instructions reached ..."), {
      name: "TRPCClientError",
      data: {
        code: "GATEWAY_TIMEOUT",
        httpStatus: 504,
        outcome: "unknown",
        requestId: "co-abc",
        clientOrderId: "order-1",
        service: "instruction_service",
        method: "execute_instructions",
      },
    });
    const r = describeError(err);
    expect(r.kind).toBe("outcome_unknown");
    expect(r.retryable).toBe(false);
    expect(r.title).toBe("Outcome unknown: it may have been executed");
    expect(r.detail).toBe("Check before you send it again (clientOrderId order-1, requestId co-abc)");
  });

  it("says the gateway is unreachable when no answer came", () => {
    const r = describeError(trpcError("fetch failed"));
    expect(r.kind).toBe("backend_unavailable");
    expect(r.title).toBe("The gateway is unreachable");
  });

  it("keeps the gateway's words for validation and conflicts", () => {
    expect(
      describeError(trpcError('cannot read "x" in "双卖 x"', { code: "BAD_REQUEST", httpStatus: 400 })).title,
    ).toBe('cannot read "x" in "双卖 x"');
    expect(describeError(trpcError("account account3 is disabled", { code: "CONFLICT", httpStatus: 409 })).title).toBe(
      "account account3 is disabled",
    );
  });

  it("reads a GatewayError as it is and anything else as unknown", () => {
    expect(describeError(new GatewayError({ kind: "timeout", message: "late" })).title).toBe(
      "The trading system did not answer in time",
    );
    expect(errorLine("boom")).toBe("boom");
  });

  it("words an UNAUTHORIZED answer as bad credentials on the login form only", () => {
    const err = trpcError("invalid username or password", { code: "UNAUTHORIZED", httpStatus: 401 });
    expect(loginErrorLine(err)).toBe("Wrong username or password");
    expect(describeError(err).title).toBe("Your session has ended: log in again");
  });
});

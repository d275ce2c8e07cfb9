import { describe, expect, it } from "vitest";
import { ErrorCode, formatBackendError, parseBackendError, RpcContext, RpcReply, RpcRequest } from "../src/index.js";

describe("backend errors", () => {
  it("formats and parses every code", () => {
    for (const code of ErrorCode.options) {
      const text = formatBackendError(code, "no account account9");
      expect(text).toBe(`${code}: no account account9`);
      expect(parseBackendError(text)).toEqual({ code, message: "no account account9" });
    }
  });

  it("refuses to format an unknown code", () => {
    expect(() => formatBackendError("TEAPOT" as ErrorCode, "x")).toThrow(TypeError);
  });

  it("finds the code on the last line of a Python traceback and drops the stack", () => {
    const tb = [
      "Traceback (most recent call last):",
      '  File "/srv/trading/rpc.py", line 88, in run',
      "    result = func(*args, **kwargs)",
      "ValueError: NOT_FOUND: account account9",
      "",
    ].join("\n");
    expect(parseBackendError(tb)).toEqual({ code: "NOT_FOUND", message: "account account9" });
  });

  it("reads a message without a code as INTERNAL, tracebacks reduced to their last line", () => {
    expect(parseBackendError("something broke")).toEqual({ code: "INTERNAL", message: "something broke" });
    const tb = "Traceback (most recent call last):\n  File \"x.py\", line 1\nKeyError: 'account9'\n";
    expect(parseBackendError(tb)).toEqual({ code: "INTERNAL", message: "KeyError: 'account9'" });
    expect(parseBackendError("")).toEqual({ code: "INTERNAL", message: "backend error" });
    expect(parseBackendError("NOT_A_CODE: x")).toEqual({ code: "INTERNAL", message: "NOT_A_CODE: x" });
  });

  it("keeps multi-line messages after a leading code", () => {
    expect(parseBackendError("INVALID_ARGUMENT: bad size\n万1 的v needs an underlying")).toEqual({
      code: "INVALID_ARGUMENT",
      message: "bad size\n万1 的v needs an underlying",
    });
  });
});

describe("wire shapes", () => {
  it("request [method, args, kwargs] with _ctx", () => {
    const ctx = { userId: "u-trader1", requestId: "gw1-42" };
    expect(RpcContext.parse(ctx)).toEqual(ctx);
    expect(RpcRequest.safeParse(["get_positions", ["account1"], { _ctx: ctx }]).success).toBe(true);
    expect(RpcRequest.safeParse(["get_positions", ["account1"], {}]).success).toBe(false);
    expect(RpcRequest.safeParse(["", [], { _ctx: ctx }]).success).toBe(false);
  });

  it("reply [true, result] or [false, message]", () => {
    expect(RpcReply.safeParse([true, { any: "thing" }]).success).toBe(true);
    expect(RpcReply.safeParse([true, null]).success).toBe(true);
    expect(RpcReply.safeParse([false, "NOT_FOUND: x"]).success).toBe(true);
    expect(RpcReply.safeParse([false, { code: "x" }]).success).toBe(false);
    expect(RpcReply.safeParse(["ok", 1]).success).toBe(false);
    expect(RpcReply.safeParse([true]).success).toBe(false);
  });
});

import { describe, expect, it } from "vitest";
import { parseTopic, topicKinds, topicOf, topics } from "../src/index.js";

describe("topics", () => {
  it("has the four families of the source document with their prefixes", () => {
    expect(topicKinds.slice(0, 4)).toEqual(["market", "account", "algorithm", "execution"]);
    for (const kind of topicKinds) expect(topics[kind].prefix).toBe(`${kind}.`);
  });

  it("topicOf and parseTopic round-trip", () => {
    expect(topicOf("market", "10008547")).toBe("market.10008547");
    expect(topicOf("account", "account1")).toBe("account.account1");
    for (const kind of topicKinds) {
      expect(parseTopic(topicOf(kind, "x.y-1"))).toEqual({ kind, id: "x.y-1" });
    }
  });

  it("rejects empty ids and unknown families", () => {
    expect(() => topicOf("execution", "")).toThrow(TypeError);
    expect(parseTopic("account.")).toBeNull();
    expect(parseTopic("heartbeat")).toBeNull();
    expect(parseTopic("accounts.account1")).toBeNull();
    expect(parseTopic("")).toBeNull();
  });
});

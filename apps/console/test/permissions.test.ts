import { describe, expect, it } from "vitest";
import { capabilitiesOf, commandsFor, visibleCommands } from "../src/lib/permissions";
import { TRADER_PERMISSIONS } from "./fixtures";

describe("capabilitiesOf", () => {
  it("gives a viewer no write buttons", () => {
    const viewer = capabilitiesOf(["account:read", "algorithm:read", "market:read"]);
    expect(viewer).toEqual({
      readAccounts: true,
      toggleAccounts: false,
      readAlgorithms: true,
      controlAlgorithms: false,
      readMarket: true,
      parseInstructions: false,
      executeInstructions: false,
    });
  });

  it("gives a trader what its permissions say", () => {
    const trader = capabilitiesOf(TRADER_PERMISSIONS);
    expect(Object.values(trader).every(Boolean)).toBe(true);
  });

  it("lets admin imply everything, and parse without execute preview only", () => {
    expect(Object.values(capabilitiesOf(["admin"])).every(Boolean)).toBe(true);
    const parser = capabilitiesOf(["instruction:parse"]);
    expect(parser.parseInstructions).toBe(true);
    expect(parser.executeInstructions).toBe(false);
  });
});

describe("algorithm commands", () => {
  it("offers only the commands the status allows", () => {
    expect(commandsFor("running")).toEqual(["pause", "stop"]);
    expect(commandsFor("paused")).toEqual(["resume", "stop"]);
    expect(commandsFor("stopped")).toEqual(["start"]);
    expect(commandsFor("failed")).toEqual(["start"]);
    expect(commandsFor("completed")).toEqual([]);
  });

  it("shows none without algorithm:control", () => {
    expect(visibleCommands(capabilitiesOf(["algorithm:read"]), "running")).toEqual([]);
    expect(visibleCommands(capabilitiesOf(["algorithm:control"]), "running")).toEqual(["pause", "stop"]);
  });
});

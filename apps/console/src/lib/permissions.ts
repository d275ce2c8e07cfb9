import type { AlgorithmCommand, AlgorithmStatus, Permission } from "./types";

/**
 * What the signed-in user may do, as the buttons the console shows. The gateway checks
 * every call again (it is the authority); this only keeps a viewer from seeing buttons
 * that would be refused.
 */
export interface Capabilities {
  readAccounts: boolean;
  /** The enabled toggle on accounts. */
  toggleAccounts: boolean;
  readAlgorithms: boolean;
  /** start / pause / resume / stop. */
  controlAlgorithms: boolean;
  readMarket: boolean;
  /** Parse and Preview (a dry run sends nothing, so parsing rights suffice). */
  parseInstructions: boolean;
  /** Execute and Cancel. */
  executeInstructions: boolean;
}

export function capabilitiesOf(permissions: readonly Permission[]): Capabilities {
  const admin = permissions.includes("admin");
  const has = (p: Permission) => admin || permissions.includes(p);
  return {
    readAccounts: has("account:read"),
    toggleAccounts: has("account:write"),
    readAlgorithms: has("algorithm:read"),
    controlAlgorithms: has("algorithm:control"),
    readMarket: has("market:read"),
    parseInstructions: has("instruction:parse"),
    executeInstructions: has("instruction:execute"),
  };
}

/** The commands that make sense from a status (the trading system refuses the others with CONFLICT). */
export function commandsFor(status: AlgorithmStatus): AlgorithmCommand[] {
  switch (status) {
    case "running":
      return ["pause", "stop"];
    case "paused":
      return ["resume", "stop"];
    case "stopped":
    case "failed":
      return ["start"];
    case "completed":
      return [];
  }
}

/** Commands shown for an algorithm: none without algorithm:control. */
export function visibleCommands(capabilities: Capabilities, status: AlgorithmStatus): AlgorithmCommand[] {
  return capabilities.controlAlgorithms ? commandsFor(status) : [];
}

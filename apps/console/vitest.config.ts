import { testConfig } from "@desk/tooling/vitest";

// Unit tests of the console's pure modules (formatting, state, errors, permissions): no DOM, no server;
// test/dev-script.test.ts runs scripts/dev.mjs as a process (typed with tsconfig.node.json).
export default testConfig();

import { testConfig } from "@desk/tooling/vitest";

// Unit tests of the console's pure modules (formatting, state, errors, permissions): no DOM, no server.
export default testConfig();

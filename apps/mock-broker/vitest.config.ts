import { testConfig } from "@desk/tooling/vitest";

export default testConfig();

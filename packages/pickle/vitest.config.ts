import { testConfig } from "@desk/tooling/vitest";

// Round trips through CPython take their time on a loaded machine.
export default testConfig({ timeoutMs: 60_000 });

import { testConfig } from "@desk/tooling/vitest";

// One gateway + mock backend per file, files in sequence: the machine has two shared cores.
export default testConfig({ sequential: true, timeoutMs: 60_000 });

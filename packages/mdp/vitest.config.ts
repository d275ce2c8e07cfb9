import { testConfig } from "@desk/tooling/vitest";

// Real sockets and child processes: keep files sequential on this 2-core box.
export default testConfig({ sequential: true });

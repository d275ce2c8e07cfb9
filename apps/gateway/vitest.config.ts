import { testConfig } from "@desk/tooling/vitest";

// Test files start real sockets and servers; run them one at a time on the shared 2-core box.
export default testConfig({ sequential: true });

import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Test files start real sockets and servers; run them one at a time on the shared 2-core box.
    fileParallelism: false,
  },
});

import { defineConfig } from "vitest/config";

// One gateway + mock backend per file, files in sequence: the machine has two shared cores.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});

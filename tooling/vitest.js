import { defineConfig } from "vitest/config";

/**
 * Test files under test/, generous timeouts (real sockets and child processes on a
 * shared 2-core machine). `sequential` runs files one at a time: suites that start
 * servers, brokers or Python peers would otherwise compete for the two cores.
 */
export function testConfig({ sequential = false, timeoutMs = 30_000 } = {}) {
  return defineConfig({
    test: {
      include: ["test/**/*.test.ts"],
      testTimeout: timeoutMs,
      hookTimeout: timeoutMs,
      ...(sequential ? { fileParallelism: false } : {}),
    },
  });
}

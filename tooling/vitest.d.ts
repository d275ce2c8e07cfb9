import type { ViteUserConfig } from "vitest/config";

export interface TestPreset {
  /** Run test files one at a time (suites that start servers or processes). Default false. */
  sequential?: boolean;
  /** Per-test and per-hook timeout in ms. Default 30,000. */
  timeoutMs?: number;
}

export declare function testConfig(preset?: TestPreset): ViteUserConfig;

import { defineConfig } from "tsup";

export default defineConfig({
  // bench: so the workspace bench tool can `import { benchPickle } from "@desk/pickle/bench"`.
  entry: { index: "src/index.ts", bench: "bench/pickle.bench.ts" },
  format: ["esm"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "node20",
});

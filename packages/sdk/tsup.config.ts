import { defineConfig } from "tsup";

// ESM + CJS + d.ts, usable from Node scripts and browser bundles alike.
// Only types come from the gateway: nothing of the server is bundled.
export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm", "cjs"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "es2022",
  external: ["ws"],
});

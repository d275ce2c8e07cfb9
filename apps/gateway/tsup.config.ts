import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts", "src/main.ts"],
  format: ["esm"],
  dts: { entry: "src/index.ts" },
  sourcemap: true,
  clean: true,
  target: "node20",
  // A devDependency loaded only in mock mode: never bundled into the gateway.
  external: ["@desk/mock-broker"],
});

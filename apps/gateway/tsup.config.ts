import { nodePackage } from "@desk/tooling/tsup";
import { defineConfig } from "tsup";

export default defineConfig(
  nodePackage({
    entry: ["src/index.ts", "src/main.ts"],
    dts: { entry: "src/index.ts" },
    // A devDependency loaded only in mock mode: never bundled into the gateway.
    external: ["@desk/mock-broker"],
  }),
);

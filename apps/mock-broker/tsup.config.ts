import { nodePackage } from "@desk/tooling/tsup";
import { defineConfig } from "tsup";

export default defineConfig(
  nodePackage({ entry: ["src/index.ts", "src/main.ts", "src/keys.ts"], dts: { entry: "src/index.ts" } }),
);

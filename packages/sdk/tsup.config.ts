import { nodePackage } from "@desk/tooling/tsup";
import { defineConfig } from "tsup";

// ESM + CJS + d.ts, usable from Node scripts and browser bundles alike.
// Only types come from the gateway: nothing of the server is bundled.
export default defineConfig(nodePackage({ format: ["esm", "cjs"], target: "es2022", external: ["ws"] }));

import { nodePackage } from "@desk/tooling/tsup";
import { defineConfig } from "tsup";

// The bench runs as compiled JavaScript under plain node, as the gateway runs in production
// (node dist/main.js): under tsx every process of the bench paid tsx's loader costs
// (a detached ArrayBuffer makes V8 guard every typed-array access; packages/pickle's README).
export default defineConfig(
  nodePackage({
    // The processes the bench forks are entries of their own.
    entry: ["src/main.ts", "src/service-child.ts", "src/fanout-subscriber.ts"],
    dts: false,
  }),
);

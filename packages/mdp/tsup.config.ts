import { nodePackage } from "@desk/tooling/tsup";
import { defineConfig } from "tsup";

// bench: so the workspace bench tool can `import { benchMdp } from "@desk/mdp/bench"`.
export default defineConfig(nodePackage({ entry: { index: "src/index.ts", bench: "bench/mdp.bench.ts" } }));

import { nodePackage } from "@desk/tooling/tsup";
import { defineConfig } from "tsup";

// bench: so the workspace bench tool can `import { benchPickle } from "@desk/pickle/bench"`.
export default defineConfig(nodePackage({ entry: { index: "src/index.ts", bench: "bench/pickle.bench.ts" } }));

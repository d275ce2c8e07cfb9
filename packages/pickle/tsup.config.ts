import { nodePackage } from "@desk/tooling/tsup";
import { defineConfig } from "tsup";

// Each file on its own (bundle: false), not one bundle: esbuild's bundler turns every
// top-level const into var (and renames clashes), and V8 cannot fold a var into the
// code that reads it, so every opcode compare in loads became a load: measured 11-13%
// slower decoding. bench: so the workspace bench tool can import "@desk/pickle/bench".
export default defineConfig(nodePackage({ entry: ["src/**/*.ts", "bench/**/*.ts"], bundle: false }));

// Plain JavaScript on purpose: tsup loads a package's config with its imports from
// node_modules left external, so a preset in TypeScript would reach Node untranspiled.

/** An ESM library (or app) for Node 20 with bundled .d.ts: what every workspace package builds. */
export function nodePackage(overrides = {}) {
  return {
    entry: ["src/index.ts"],
    format: ["esm"],
    dts: true,
    sourcemap: true,
    clean: true,
    target: "node20",
    ...overrides,
  };
}

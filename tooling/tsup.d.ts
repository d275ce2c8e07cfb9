import type { Options } from "tsup";

/** An ESM library (or app) for Node 20 with bundled .d.ts; `overrides` replace keys of the preset. */
export declare function nodePackage(overrides?: Options): Options;

import { nodePackage } from "@desk/tooling/tsup";
import { defineConfig } from "tsup";

export default defineConfig(nodePackage());

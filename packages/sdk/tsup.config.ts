import { nodePackage } from "@desk/tooling/tsup";
import { defineConfig } from "tsup";

// JavaScript only: ESM + CJS for Node scripts and browser bundles alike. The
// declarations are built by scripts/bundle-types.ts, which inlines the gateway's
// router type (tsup's own dts would leave `import ... from "@desk/gateway"`).
// The schemas entry bundles @desk/contracts' code (plain zod, no server code); zod
// itself stays a peer, and `ws` is loaded only in Node 20 (see src/websocket.ts).
export default defineConfig(
  nodePackage({
    entry: ["src/index.ts", "src/schemas.ts", "src/events.ts"],
    format: ["esm", "cjs"],
    target: "es2022",
    dts: false,
    external: ["ws", "zod", "socket.io-client"],
    noExternal: ["@desk/contracts"],
  }),
);

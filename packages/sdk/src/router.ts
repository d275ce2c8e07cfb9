// Type-only: erased at build time, so no gateway (server) code reaches the bundle.
export type { AppRouter } from "@desk/gateway";

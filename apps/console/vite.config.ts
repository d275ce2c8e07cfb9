import react from "@vitejs/plugin-react";
import { defineConfig, type ProxyOptions } from "vite";

// The console talks to the gateway on its own origin (/trpc over HTTP and WebSocket),
// as it does in production where the gateway serves the built files. In development
// Vite's server stands in front and forwards those paths to the gateway.
const gatewayUrl = process.env.GATEWAY_URL ?? `http://127.0.0.1:${process.env.PORT ?? "3001"}`;

const toGateway: Record<string, ProxyOptions> = {
  "/trpc": { target: gatewayUrl, ws: true },
  "/health": { target: gatewayUrl },
  "/api": { target: gatewayUrl },
};

export default defineConfig({
  plugins: [react()],
  server: {
    host: "127.0.0.1",
    port: Number(process.env.CONSOLE_PORT ?? "5173"),
    strictPort: true,
    proxy: toGateway,
  },
  preview: {
    host: "127.0.0.1",
    port: Number(process.env.CONSOLE_PORT ?? "4173"),
    strictPort: true,
    proxy: toGateway,
  },
  build: {
    outDir: "dist",
    sourcemap: true,
    target: "es2022",
  },
});

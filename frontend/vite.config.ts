/// <reference types="vitest/config" />
import tailwindcss from "@tailwindcss/vite";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const backend = process.env.CODESMITH_BACKEND_URL ?? "http://127.0.0.1:8000";
const proxied = ["/api", "/healthz", "/readyz", "/docs", "/openapi.json"];

export default defineConfig({
  plugins: [react(), tailwindcss()],
  server: {
    port: 5173,
    proxy: Object.fromEntries(proxied.map((path) => [path, { target: backend, changeOrigin: false }])),
  },
  build: {
    outDir: "dist",
    assetsDir: "assets",
    sourcemap: false,
    // The backend serves dist/ at / with an index.html fallback and /assets as static files.
    emptyOutDir: true,
  },
  test: {
    environment: "jsdom",
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    css: false,
    restoreMocks: true,
    // The first test of a file compiles lazy route chunks; the machine may be shared and slow.
    testTimeout: 20_000,
  },
});

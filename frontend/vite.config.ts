/// <reference types="vitest/config" />
import tailwindcss from "@tailwindcss/vite";
import react from "@vitejs/plugin-react";
import { createReadStream } from "node:fs";
import { copyFile, mkdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig, type Plugin } from "vite";

const here = dirname(fileURLToPath(import.meta.url));
// What the sandbox's Python worker loads: served by the app itself (never a CDN) under /pyodide/.
const PYODIDE_FILES = ["pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json"];
const PYODIDE_TYPES: Record<string, string> = { js: "text/javascript", mjs: "text/javascript", wasm: "application/wasm", zip: "application/zip", json: "application/json" };

/** Copies Pyodide's runtime into dist/pyodide/ at build time, and serves it from node_modules in `vite dev`. */
function pyodideFiles(): Plugin {
  const source = resolve(here, "node_modules/pyodide");
  return {
    name: "codesmith-pyodide",
    configureServer(server) {
      server.middlewares.use("/pyodide", (request, response, next) => {
        const name = (request.url ?? "").split("?")[0]!.replace(/^\//, "");
        if (!PYODIDE_FILES.includes(name)) return next();
        response.setHeader("Content-Type", PYODIDE_TYPES[name.split(".").pop()!] ?? "application/octet-stream");
        createReadStream(join(source, name)).pipe(response);
      });
    },
    async writeBundle(options) {
      const target = join(options.dir ?? resolve(here, "dist"), "pyodide");
      await mkdir(target, { recursive: true });
      await Promise.all(PYODIDE_FILES.map((name) => copyFile(join(source, name), join(target, name))));
    },
  };
}

const backend = process.env.CODESMITH_BACKEND_URL ?? "http://127.0.0.1:8000";
const proxied = ["/api", "/healthz", "/readyz", "/docs", "/openapi.json"];

export default defineConfig({
  plugins: [react(), tailwindcss(), pyodideFiles()],
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

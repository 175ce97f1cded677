import { fileURLToPath } from "node:url";
import { svelte } from "@sveltejs/vite-plugin-svelte";
import { defineConfig } from "vite";

// The app serves organisatrice/static at "/" (html_mode), so the build goes there.
const outDir = fileURLToPath(new URL("../organisatrice/static", import.meta.url));
// `npm run dev` talks to a running `organisatrice serve` (PORT, default 8000).
const backend = `http://127.0.0.1:${process.env.BACKEND_PORT ?? "8000"}`;

export default defineConfig({
  plugins: [svelte()],
  build: {
    outDir,
    emptyOutDir: true,
    target: "es2022",
    // Small and readable enough to debug on a tablet; no source maps shipped.
    sourcemap: false,
    reportCompressedSize: true,
  },
  server: {
    proxy: {
      "/api": backend,
      "/schema": backend,
    },
  },
});

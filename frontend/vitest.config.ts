import { svelte } from "@sveltejs/vite-plugin-svelte";
import { defineConfig } from "vitest/config";

// Unit tests of the UI's pure logic (catalogues, formats, routes, errors): Node, no browser;
// the flows run in real Chromium from pytest (tests/e2e).
export default defineConfig({
  plugins: [svelte()],
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});

import { defineConfig } from "vite";

// Everything bundled into dist/ (served by the API at /): no CDN at run time.
export default defineConfig({
  root: __dirname,
  base: "./",
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true, target: "es2022" },
});

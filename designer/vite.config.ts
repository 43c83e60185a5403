// The page is served by iomtflow at "/" (iomtflow designer) or "/designer/" (iomtflow run), so
// every URL is relative. No dev server proxy is needed for tests: they run the built page.
import { defineConfig } from "vite";

export default defineConfig({
  base: "./",
  build: {
    target: "es2022",
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 2048,
    reportCompressedSize: false,
  },
  server: {
    proxy: { "/api": "http://127.0.0.1:8090" },
  },
});

import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// The build is what Firebase Hosting serves (firebase.json `hosting.public` = web/dist).
// Everything is bundled: no CDN at run time. The task graph (cytoscape + dagre) is a separate
// chunk loaded only by the task-group screen, so it is not part of the initial JS.
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    chunkSizeWarningLimit: 700,
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});

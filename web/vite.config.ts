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
  // `npm run dev` (hot reload) beside `make dev`: the API and the Firebase config come from the
  // local Hosting on 5000, as they do for the built app.
  server: {
    proxy: { "/api": "http://127.0.0.1:5000", "/__": "http://127.0.0.1:5000" },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});

import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL(".", import.meta.url));

// Production build served by natter (STATIC_DIR=e2e/frontend/dist).
// In development (`npm run dev`) the app talks to http://localhost:5001 like the tutorial.
export default defineConfig({
  root,
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
  },
  logLevel: "warn",
});

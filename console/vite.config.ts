import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The console is built into console/dist and served by the API at `/`. No plugin is needed:
// Vite's esbuild compiles TSX with React's automatic runtime.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  logLevel: 'warn',
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Everything is a file of its own origin: no inline scripts or data: modules, so the CSP can say 'self'.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 1500,
  },
});

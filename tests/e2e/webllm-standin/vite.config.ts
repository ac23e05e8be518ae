/**
 * Builds the stand-in web-llm worker (worker.ts; test-only) to tests/e2e/webllm-standin/dist: one entry,
 * assets/webllm-standin.worker.js (dynamic imports inlined: one file), which a spec serves in place of the app's
 * web-llm worker. Its wasm files are tfjs-wasm's, named as the app's build names them (same content, same
 * hash), so the app's server has them at the same /assets/ URLs.
 *   npx vite build --config tests/e2e/webllm-standin/vite.config.ts --logLevel warn
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root,
  base: '/',
  publicDir: false,
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 8000,
    // A worker has no document: no modulepreload helper around dynamic imports.
    modulePreload: false,
    rollupOptions: {
      input: { 'webllm-standin.worker': join(root, 'worker.ts') },
      preserveEntrySignatures: false,
      output: { codeSplitting: false, entryFileNames: 'assets/[name].js', assetFileNames: 'assets/[name]-[hash][extname]' },
    },
  },
});

/**
 * The runtime harness: a bare page (no app UI) exposing the tfjs runtime on `window.runtime` and the benchmark
 * suites on `window.bench`, for tests/e2e/runtime-*.spec.ts and `npm run bench`. Built to
 * tests/e2e/harness/dist and served by `vite preview` with the app's own security headers (cross-origin
 * isolated, same CSP) on port $E2E_RUNTIME_PORT (default 4181).
 *   npx vite build --config tests/e2e/harness/vite.config.ts --logLevel warn
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { securityHeaders } from '../../../vite.config.ts';

const root = dirname(fileURLToPath(import.meta.url));

export const RUNTIME_HARNESS_PORT = Number(process.env.E2E_RUNTIME_PORT ?? 4181);

/** The app's own headers (its CSP too: tfjs-wasm's threads and our kernels' helpers run under it). */
function headers(): Plugin {
  const h = securityHeaders(false);
  const apply = (server: { middlewares: { use: (f: (req: unknown, res: { setHeader(k: string, v: string): void }, next: () => void) => void) => void } }): void => {
    server.middlewares.use((_req, res, next) => {
      for (const [k, v] of Object.entries(h)) res.setHeader(k, v);
      next();
    });
  };
  return { name: 'runtime-harness-security-headers', configurePreviewServer: apply, configureServer: apply };
}

export default defineConfig({
  root,
  plugins: [headers()],
  worker: { format: 'es' },
  // Minified like the app: the threaded build's thread workers load its module file, not source text.
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 8000, sourcemap: false },
  preview: { port: RUNTIME_HARNESS_PORT, strictPort: true },
});

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

/**
 * The app's headers, with one addition: `blob:` in script-src. tfjs-wasm's threaded build starts its thread
 * workers from blob URLs that importScripts() another blob, which a CSP without blob: scripts blocks. The
 * harness shows threads working; the app needs the same change (and `minify: false`, below) to use them.
 */
function harnessHeaders(): Record<string, string> {
  const h = securityHeaders(false);
  h['Content-Security-Policy'] = h['Content-Security-Policy'].replace("script-src 'self'", "script-src 'self' blob:");
  return h;
}

function headers(): Plugin {
  const h = harnessHeaders();
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
  // Not minified: tfjs-wasm sends its threaded module to the thread workers as source text
  // (Function.prototype.toString), which breaks when a minifier renames the variables it closes over.
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 8000, sourcemap: false, minify: false },
  preview: { port: RUNTIME_HARNESS_PORT, strictPort: true },
});

/**
 * A tiny page for tests/e2e/engine-*.spec.ts that boots the real engine workers (workers/webllm.worker.ts)
 * outside the app's UI. Built to tests/e2e/harness-engines/dist and served by `vite preview` with the app's
 * own security headers (cross-origin isolation, CSP), on port $E2E_ENGINES_PORT (default 4183).
 *   npx vite build --config tests/e2e/harness-engines/vite.config.ts --logLevel warn
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { securityHeaders } from '../../../vite.config.ts';

const root = dirname(fileURLToPath(import.meta.url));

function headers(): Plugin {
  return {
    name: 'harness-security-headers',
    configurePreviewServer(server) {
      const h = securityHeaders(false);
      server.middlewares.use((_req, res, next) => {
        for (const [k, v] of Object.entries(h)) res.setHeader(k, v);
        next();
      });
    },
  };
}

export default defineConfig({
  root,
  plugins: [headers()],
  worker: { format: 'es' },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 8000 },
  preview: { port: Number(process.env.E2E_ENGINES_PORT ?? 4183), strictPort: true },
});

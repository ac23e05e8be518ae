/// <reference types="vitest/config" />
/**
 * The one build and test configuration: Vite (dev server, preview, build) and, under `test:`, Vitest (which reads
 * this file; there is no vitest.config.ts). Svelte's options are inline below (there is no svelte.config.js):
 * components use `<script lang="ts">` with type annotations only, which Svelte 5 compiles natively, so no
 * preprocessor is needed.
 */
import { defineConfig, type Plugin } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

/**
 * Content-Security-Policy: only what the app needs.
 * - scripts: our own files; 'wasm-unsafe-eval' lets tfjs-wasm and web-llm compile WebAssembly (no JS eval).
 * - workers: our own module workers; blob: for tfjs-wasm's thread workers and our kernels' helper threads (they
 *   load scripts only from 'self': tfjs-wasm's threaded module is served as a file, so script-src needs no blob:).
 * - connect: our origin, the Hugging Face hub and its CDN (model files), raw.githubusercontent.com (web-llm's
 *   compiled model libraries), and https:/localhost for an OpenAI-compatible critic endpoint the user enters.
 * - styles: Svelte's scoped CSS is emitted as files in a build; the dev server injects <style> tags, so
 *   'unsafe-inline' styles are allowed (styles only; never scripts).
 */
export function contentSecurityPolicy(dev: boolean): string {
  const connect = [
    "'self'",
    'https:',
    'http://localhost:*',
    'http://127.0.0.1:*',
    ...(dev ? ['ws://localhost:*', 'ws://127.0.0.1:*'] : []),
  ];
  return [
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "worker-src 'self' blob:",
    `connect-src ${connect.join(' ')}`,
    "img-src 'self' data: blob:",
    "style-src 'self' 'unsafe-inline'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export function securityHeaders(dev: boolean): Record<string, string> {
  return {
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Embedder-Policy': 'require-corp',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Content-Security-Policy': contentSecurityPolicy(dev),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
  };
}

/** Sends the headers above on every response of the dev and preview servers. */
function headers(): Plugin {
  return {
    name: 'security-headers',
    configureServer(server) {
      const h = securityHeaders(true);
      server.middlewares.use((_req, res, next) => {
        for (const [k, v] of Object.entries(h)) res.setHeader(k, v);
        next();
      });
    },
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
  // Routes live in the URL hash, so no HTML fallback is needed: a missing file (e.g. an optional model file
  // the loader probes for) must answer 404, not index.html with 200.
  appType: 'mpa',
  // Runes everywhere: a component written in Svelte 4's syntax fails to compile instead of running in legacy mode.
  plugins: [svelte({ compilerOptions: { runes: true } }), headers()],
  worker: { format: 'es' },
  build: { target: 'es2022', sourcemap: true, chunkSizeWarningLimit: 8000 },
  optimizeDeps: { exclude: ['@mlc-ai/web-llm'] },
  server: { port: 5173, strictPort: false },
  preview: { port: 4173 },
  // Unit tests (Vitest, in Node): `npx vitest run [file…]`. The end-to-end tests use tests/e2e/playwright.config.ts.
  test: {
    include: ['tests/unit/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});

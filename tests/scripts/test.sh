#!/usr/bin/env bash
# Every test of the project, in the order that fails fastest: types, unit (Node), build, end to end (Chromium).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash tests/scripts/ensure-chromium.sh
echo "== WebAssembly kernels (clang, lld)"
npm run -s build:kernels
echo "== type check (svelte-check, tsc)"
npm run -s check
echo "== unit tests (vitest, Node)"
npx vitest run
echo "== build"
npx vite build --logLevel warn
npx vite build --config tests/e2e/harness-engines/vite.config.ts --logLevel warn
npx vite build --config tests/e2e/harness/vite.config.ts --logLevel warn
npx vite build --config tests/e2e/webllm-standin/vite.config.ts --logLevel warn
echo "== end-to-end tests (Playwright, Chromium)"
CI=1 npx playwright test -c tests/e2e/playwright.config.ts

/**
 * A full storage quota in a real browser: the origin's quota is set to 256 KiB through Chromium's DevTools
 * protocol (`Storage.overrideQuotaForOrigin`) before the app first opens its storage. That is room for the
 * app's database and a new experiment, not for what each test then does: a task import (about 800 KB), an
 * adapter import (an r=32 adapter and its GGUF export, about 570 KB) and a model download (500 KB of weights).
 * Each fails with the `quota-exceeded` message next to the control that started it and leaves nothing
 * half-written: no task or adapter rows (read with raw IndexedDB) and no entries in the model cache (read with
 * the raw Cache API). With the override lifted, the same action succeeds.
 *
 * The override is set before the first write because Chromium's IndexedDB caches the space it was last told
 * is left for up to 30 s; a quota lowered later is only seen once a write asks for more than that.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type CDPSession, type Page } from '@playwright/test';
import { zipSync } from 'fflate';
import { adapterDir, modelDir } from '../fixtures/reference.ts';
import { safetensorsBytes, type TestTensor } from '../fixtures/safetensors-bytes.ts';
import { countRows, createExperiment, openApp } from './helpers/app.ts';
import { loadTinyLlamaFromFolder } from './pipeline-helpers.ts';
import { HUB } from './helpers/servers.ts';

const FULL = "this site's browser storage is full, so nothing from this action was saved";
const QUOTA = 256 * 1024;

/** Opens the app with the origin's quota at QUOTA; `lift` removes the override (its DevTools session stays open, or the override would go). */
async function openWithSmallQuota(page: Page, baseURL: string | undefined): Promise<{ lift: () => Promise<void> }> {
  const origin = new URL(baseURL ?? '').origin;
  const cdp: CDPSession = await page.context().newCDPSession(page);
  await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: QUOTA });
  await openApp(page);
  return { lift: () => cdp.send('Storage.overrideQuotaForOrigin', { origin }).then(() => undefined) };
}

/** What each test checks was left behind: rows of both tables an import writes, and the model cache. */
async function leftovers(page: Page): Promise<{ tasks: number; adapters: number; cached: string[] }> {
  return { tasks: await countRows(page, 'tasks'), adapters: await countRows(page, 'adapters'), cached: await cachedUrls(page) };
}

/** URLs in the app's model cache (the Cache API scope the tfjs worker downloads into). */
function cachedUrls(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    const out: string[] = [];
    for (const name of await caches.keys()) for (const r of await (await caches.open(name)).keys()) out.push(r.url);
    return out;
  });
}

/** Prompts of random letters (so IndexedDB cannot compress them below the quota), one per line. */
function randomPrompts(count: number, length: number): string {
  let seed = 12345;
  const letter = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return String.fromCharCode(97 + ((seed >>> 16) % 26));
  };
  return Array.from({ length: count }, (_, i) => `${i}: ${Array.from({ length }, letter).join('')}`).join('\n');
}

/**
 * An r=32 LoRA adapter for the tiny-llama fixture on all seven projections (its largest rank: k/v project to
 * 32), with small finite weights: about 287 KB of F32, and as much again for the GGUF export stored with it.
 */
function bigAdapterZip(): Uint8Array {
  const config = JSON.parse(readFileSync(join(adapterDir('tiny-llama'), 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
  const dims: Record<string, [string, number, number]> = {
    q_proj: ['self_attn', 64, 64],
    k_proj: ['self_attn', 64, 32],
    v_proj: ['self_attn', 64, 32],
    o_proj: ['self_attn', 64, 64],
    gate_proj: ['mlp', 64, 160],
    up_proj: ['mlp', 64, 160],
    down_proj: ['mlp', 160, 64],
  };
  const r = 32;
  const tensors: Record<string, TestTensor> = {};
  let k = 0;
  const values = (n: number) => Array.from({ length: n }, () => ((k++ * 7919) % 1000) / 1e5 - 0.005);
  for (const layer of [0, 1]) {
    for (const [proj, [block, inF, outF]] of Object.entries(dims)) {
      const base = `base_model.model.model.layers.${layer}.${block}.${proj}`;
      tensors[`${base}.lora_A.weight`] = { dtype: 'F32', shape: [r, inF], data: values(r * inF) };
      tensors[`${base}.lora_B.weight`] = { dtype: 'F32', shape: [outF, r], data: values(outF * r) };
    }
  }
  return zipSync({
    'adapter/adapter_config.json': new TextEncoder().encode(JSON.stringify({ ...config, r, lora_alpha: 64, target_modules: Object.keys(dims) })),
    'adapter/adapter_model.safetensors': [safetensorsBytes(tensors, { format: 'pt' }), { level: 0 }],
  });
}

test('a task import over the quota fails with quota-exceeded next to the control and stores no task', async ({ page, baseURL }) => {
  const quota = await openWithSmallQuota(page, baseURL);
  const id = await createExperiment(page, 'Quota tasks');
  await page.goto(`/#/experiments/${id}/tasks`);
  await expect(page.getByTestId('no-tasks')).toBeVisible();

  const file = { name: 'many.txt', mimeType: 'text/plain', buffer: Buffer.from(randomPrompts(2000, 400)) }; // ≈ 800 KB
  await page.getByTestId('import-tasks').setInputFiles(file);
  await expect(page.getByTestId('import-tasks-error')).toContainText(`Could not add the tasks: ${FULL}`);
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  expect(await leftovers(page)).toEqual({ tasks: 0, adapters: 0, cached: [] });

  await quota.lift();
  await page.getByTestId('import-tasks').setInputFiles(file);
  await expect(page.getByTestId('import-summary')).toContainText('Imported 2000 prompts');
  await expect(page.getByTestId('import-tasks-error')).toHaveCount(0);
  expect(await countRows(page, 'tasks')).toBe(2000);
});

test('an adapter import over the quota fails with quota-exceeded next to the control and stores no adapter', async ({ page, baseURL }) => {
  const quota = await openWithSmallQuota(page, baseURL);
  const id = await createExperiment(page, 'Quota adapter');
  await page.goto(`/#/experiments/${id}/adapters`);
  await page.getByText('Engines (import checks an adapter against the loaded actor)').click();
  await loadTinyLlamaFromFolder(page);

  const file = { name: 'adapter.zip', mimeType: 'application/zip', buffer: Buffer.from(bigAdapterZip()) };
  await page.getByTestId('import-adapter-zip').setInputFiles(file);
  await expect(page.getByTestId('import-adapter-error')).toContainText(`Could not save the adapter: ${FULL}`, { timeout: 60_000 });
  expect(await leftovers(page)).toEqual({ tasks: 0, adapters: 0, cached: [] });

  await quota.lift();
  await page.getByTestId('import-adapter-zip').setInputFiles(file);
  await expect(page.getByTestId('notice-banner')).toContainText('imported and checked against', { timeout: 60_000 });
  await expect(page.getByTestId('import-adapter-error')).toHaveCount(0);
  expect(await countRows(page, 'adapters')).toBe(1);
});

test('a model download over the quota fails with quota-exceeded and leaves nothing in the model cache', async ({ page, baseURL }) => {
  const quota = await openWithSmallQuota(page, baseURL);
  const id = await createExperiment(page, 'Quota download');
  await page.goto(`/#/experiments/${id}/playground`);
  await page.getByTestId('actor-engine-kind').selectOption('tfjs');
  await page.getByTestId('actor-tfjs-from').selectOption('hub');
  await page.getByTestId('actor-repo').fill('fixtures/tiny-llama');
  await page.getByTestId('actor-hub').fill(HUB);
  await page.getByTestId('actor-backend').selectOption('wasm');

  // The config and tokenizer files (a few KB) fit and are cached first; the 500 KB of weights do not.
  await page.getByTestId('actor-load').click();
  await expect(page.getByTestId('actor-error')).toContainText(`Could not download model.safetensors from the Hugging Face repo fixtures/tiny-llama: ${FULL}`, { timeout: 60_000 });
  expect(await leftovers(page)).toEqual({ tasks: 0, adapters: 0, cached: [] }); // the small files were removed with it

  await quota.lift();
  await page.getByTestId('actor-load').click();
  await expect(page.getByTestId('actor-ready')).toContainText('fixtures/tiny-llama', { timeout: 60_000 });
  expect((await cachedUrls(page)).some((u) => u.endsWith('/fixtures/tiny-llama/resolve/main/model.safetensors'))).toBe(true);
});

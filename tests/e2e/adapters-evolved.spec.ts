/**
 * Evolved web-llm models through the app, in Chromium: a stored adapter of SmolLM2-135M is merged (Adapters
 * tab → "Make a web-llm model…", in the evolve worker, with progress) into the cached web-llm build
 * SmolLM2-135M-Instruct-q0f32-MLC; the evolved model is listed on the Adapters tab and on the Settings page,
 * renamed, still there after a reload, and deleted, and the base's cached files are untouched throughout.
 * With the origin's storage quota lowered (DevTools protocol), the merge fails with quota-exceeded and leaves
 * nothing behind.
 *
 * Stand-ins: no real model can be downloaded here, so the tiny-llama fixture, converted by `lm mlc-export`,
 * stands in for SmolLM2's cached files (seeded in web-llm's cache scopes at the real record URL), and the
 * tiny-llama fixture adapter stands in for an adapter trained on SmolLM2 (seeded as an adapter row).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, test, type Page } from '@playwright/test';
import { fixturesDir, REPO_ROOT } from '../fixtures/paths.ts';
import { createExperiment, openApp } from './helpers/app.ts';

const BASE = 'SmolLM2-135M-Instruct-q0f32-MLC';
const BASE_URL = `https://huggingface.co/mlc-ai/${BASE}/resolve/main/`;

let tmp: string;
let mlc: Record<string, number[]>;

test.beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'e2e-evolved-'));
  const tsx = join(REPO_ROOT, 'node_modules/.bin/tsx');
  await promisify(execFile)(tsx, ['src/cli/lm.ts', 'mlc-export', '--model', join(fixturesDir(), 'tiny-llama/model'), '--out', join(tmp, 'mlc'), '--quantization', 'q0f32'], { cwd: REPO_ROOT });
  mlc = {};
  for (const f of await readdir(join(tmp, 'mlc'))) mlc[f] = [...(await readFile(join(tmp, 'mlc', f)))];
});
test.afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** The base as web-llm leaves it after a download: its files in webllm/model and webllm/config. */
async function seedBase(page: Page): Promise<void> {
  await page.evaluate(
    async ({ files, base }) => {
      for (const [name, bytes] of Object.entries(files)) {
        const scope = name === 'mlc-chat-config.json' ? 'webllm/config' : 'webllm/model';
        await (await caches.open(scope)).put(base + name, new Response(new Uint8Array(bytes)));
      }
    },
    { files: mlc, base: BASE_URL },
  );
}

/** An adapter row of the experiment (the fixture adapter, for base model smollm2-135m). */
async function seedAdapter(page: Page, experimentId: string): Promise<void> {
  const weights = [...(await readFile(join(fixturesDir(), 'tiny-llama/adapter/adapter_model.safetensors')))];
  await page.evaluate(
    ({ experimentId, weights }) =>
      new Promise<void>((resolve, reject) => {
        const open = indexedDB.open('self-refine-studio');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const tx = open.result.transaction('adapters', 'readwrite');
          tx.objectStore('adapters').put({
            id: 'adapter-e2e',
            experimentId,
            name: 'smol round 1',
            baseModelId: 'smollm2-135m',
            config: { r: 4, alpha: 8, dropout: 0, rslora: false, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'], layers: null },
            weights: new Blob([new Uint8Array(weights)]),
            gguf: null,
            trainingRunId: null,
            createdAt: Date.now(),
          });
          tx.oncomplete = () => (open.result.close(), resolve());
          tx.onerror = () => reject(tx.error);
        };
      }),
    { experimentId, weights },
  );
}

async function baseEntries(page: Page): Promise<number> {
  return page.evaluate(async (base) => {
    let n = 0;
    for (const s of ['webllm/model', 'webllm/config']) n += (await (await caches.open(s)).keys()).filter((r) => r.url.startsWith(base)).length;
    return n;
  }, BASE_URL);
}

async function startMerge(page: Page, experimentId: string): Promise<void> {
  await page.goto(`/#/experiments/${experimentId}/adapters`);
  await page.getByTestId('adapter-evolve').click();
  await expect(page.getByTestId('adapter-evolve-base')).toHaveValue(BASE, { timeout: 60_000 });
  await expect(page.getByTestId('adapter-evolve-note')).toContainText('merged exactly');
  await page.getByTestId('adapter-evolve-name').fill('Smol evolved');
  await page.getByTestId('adapter-evolve-run').click();
}

test('an adapter becomes an evolved web-llm model: listed, renamed, kept across a reload, deleted; the base stays (stand-in files)', async ({ page }) => {
  await openApp(page, '#/');
  const id = await createExperiment(page, 'Evolve');
  await seedBase(page);
  await seedAdapter(page, id);
  const before = await baseEntries(page);
  await startMerge(page, id);
  const item = page.getByTestId('evolved-model');
  await expect(item).toHaveCount(1, { timeout: 60_000 });
  await expect(item.getByTestId('evolved-name')).toHaveText('Smol evolved');
  await expect(item.getByTestId('evolved-facts')).toContainText(`from ${BASE} (q0f32)`);
  await expect(item.getByTestId('evolved-facts')).toContainText('adapter merged exactly');
  await expect(page.getByTestId('notice-banner')).toContainText('Made Smol evolved');
  // It can be picked as a web-llm model.
  await page.locator('details.engines summary').click();
  await page.getByTestId('actor-engine-kind').selectOption('webllm');
  const evolvedOption = page.getByTestId('actor-webllm-model').locator('optgroup[label="Evolved in this browser"] option');
  await expect(evolvedOption).toHaveText([`Smol evolved — from ${BASE}`]);
  await page.getByTestId('actor-webllm-model').selectOption({ label: `Smol evolved — from ${BASE}` });
  await expect(page.getByTestId('actor-webllm-evolved')).toContainText('with an adapter merged in');

  await item.getByTestId('evolved-rename').click();
  await item.getByTestId('evolved-rename-input').fill('Smol, round 1');
  await item.getByTestId('evolved-rename-save').click();
  await expect(item.getByTestId('evolved-name')).toHaveText('Smol, round 1');

  await page.reload();
  await openApp(page, '#/settings');
  const listed = page.locator('section[aria-labelledby="models-title"]').getByTestId('evolved-model');
  await expect(listed).toHaveCount(1);
  await expect(listed.getByTestId('evolved-name')).toHaveText('Smol, round 1');
  await listed.getByTestId('evolved-delete').click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByTestId('no-evolved-models')).toBeVisible();
  expect(await baseEntries(page)).toBe(before);
});

test('with the storage quota too small, the merge fails with quota-exceeded and keeps nothing (stand-in files)', async ({ page }) => {
  await openApp(page, '#/');
  const id = await createExperiment(page, 'Evolve small');
  await seedBase(page);
  await seedAdapter(page, id);
  const before = await baseEntries(page);
  const usage = await page.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Storage.overrideQuotaForOrigin', { origin: new URL(page.url()).origin, quotaSize: usage + 50_000 });
  await startMerge(page, id);
  await expect(page.getByTestId('adapter-evolve-error')).toContainText("The browser's storage is full", { timeout: 60_000 });
  await expect(page.getByTestId('adapter-evolve-error')).toContainText(`${BASE} is untouched`);
  await expect(page.getByTestId('no-evolved-models')).toBeVisible();
  expect(await page.evaluate(async () => (await (await caches.open('webllm/model')).keys()).filter((r) => r.url.includes('/webllm-evolved/')).length)).toBe(0);
  expect(await baseEntries(page)).toBe(before);
});

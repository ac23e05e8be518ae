/**
 * Shared setup for the e2e specs that run SELF or SRT on a web-llm actor with WEB-LLM'S WEBGPU COMPUTE STOOD IN
 * (self-webllm.spec.ts, srt-webllm.spec.ts). No MLC model library can be compiled or downloaded here, so the
 * app's web-llm worker is served (by the spec's routes only) as tests/e2e/webllm-standin: the same host code
 * with MLCEngine replaced by our tfjs runtime on the cached MLC files. The toy model, exported by
 * `lm mlc-export` in two quantizations, is seeded in web-llm's cache scopes at the catalog record URLs of
 * SmolLM2-360M-Instruct's q4f32_1 build (which this GPU's lack of shader-f16 picks) and its q0f32 build.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { prebuiltAppConfig } from '@mlc-ai/web-llm';
import { expect, type Page, type Worker } from '@playwright/test';
import { REPO_ROOT } from '../../fixtures/paths.ts';
import { addToyTasks } from '../pipeline-helpers.ts';
import { createExperiment, openApp } from './app.ts';

export const Q4 = 'SmolLM2-360M-Instruct-q4f32_1-MLC';
export const Q0 = 'SmolLM2-360M-Instruct-q0f32-MLC';
const STANDIN = join(REPO_ROOT, 'tests/e2e/webllm-standin/dist/assets');
const run = promisify(execFile);

/** The MLC files of each seeded build, by web-llm id then file name (bytes as numbers, to pass to the page). */
export type MlcBuilds = Record<string, Record<string, number[]>>;

/**
 * Builds the stand-in when missing, checks its wasm files are the app build's, and exports the toy model as
 * the two builds (in a temporary folder, removed before returning).
 */
export async function prepareStandIn(): Promise<MlcBuilds> {
  if (!existsSync(join(STANDIN, 'webllm-standin.worker.js'))) {
    await run(join(REPO_ROOT, 'node_modules/.bin/vite'), ['build', '--config', 'tests/e2e/webllm-standin/vite.config.ts', '--logLevel', 'warn'], { cwd: REPO_ROOT });
  }
  for (const f of await readdir(STANDIN)) {
    if (f.endsWith('.wasm') && !existsSync(join(REPO_ROOT, 'dist/assets', f))) throw new Error(`The app's build lacks ${f}, which the stand-in loads: rebuild both (npx vite build).`);
  }
  const tmp = await mkdtemp(join(tmpdir(), 'e2e-webllm-standin-'));
  try {
    const tsx = join(REPO_ROOT, 'node_modules/.bin/tsx');
    const mlc: MlcBuilds = {};
    for (const [id, q] of [[Q4, 'q4f32_1'], [Q0, 'q0f32']]) {
      const out = join(tmp, q);
      await run(tsx, ['src/cli/lm.ts', 'mlc-export', '--model', 'public/models/toy-arith', '--out', out, '--quantization', q], { cwd: REPO_ROOT });
      mlc[id] = {};
      for (const f of await readdir(out)) mlc[id][f] = [...(await readFile(join(out, f)))];
    }
    return mlc;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Serves the stand-in in place of the app's web-llm worker (its wasm files are the app's own, at the same URLs),
 * and, from the next navigation on, gathers every Cache API read and fetch in the stand-in's worker
 * (tests/e2e/harness-engines/cache-log.ts) in `window.webllmLog` (read with `webllmLog`).
 */
export async function standIn(page: Page): Promise<void> {
  const headers = { 'Cross-Origin-Embedder-Policy': 'require-corp', 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Resource-Policy': 'same-origin' };
  await page.route('**/assets/webllm.worker-*.js', (r) => r.fulfill({ path: join(STANDIN, 'webllm-standin.worker.js'), headers, contentType: 'text/javascript' }));
  await page.addInitScript(() => {
    const log: { op: string; url: string; hit: boolean | null }[] = [];
    (window as unknown as { webllmLog: typeof log }).webllmLog = log;
    new BroadcastChannel('webllm-log').onmessage = (m) => log.push(m.data);
  });
}

export interface CacheLogEntry {
  op: string;
  url: string;
  hit: boolean | null;
}

/** The stand-in worker's Cache API reads and fetches so far (see standIn). */
export function webllmLog(page: Page): Promise<CacheLogEntry[]> {
  return page.evaluate(() => (window as unknown as { webllmLog: { op: string; url: string; hit: boolean | null }[] }).webllmLog);
}

/** The builds as web-llm leaves them after a download: in webllm/model and webllm/config at the record URL. */
export async function seedBuilds(page: Page, mlc: MlcBuilds): Promise<void> {
  const records = Object.fromEntries(Object.keys(mlc).map((id) => [id, `${prebuiltAppConfig.model_list.find((m) => m.model_id === id)!.model.replace(/\/$/, '')}/resolve/main/`]));
  await page.evaluate(
    async ({ mlc, records }) => {
      for (const [id, files] of Object.entries(mlc)) {
        for (const [name, bytes] of Object.entries(files)) {
          const scope = name === 'mlc-chat-config.json' ? 'webllm/config' : 'webllm/model';
          await (await caches.open(scope)).put(records[id] + name, new Response(new Uint8Array(bytes)));
        }
      }
    },
    { mlc, records },
  );
}

/** The compiled library web-llm's catalog names for a build. */
export function modelLib(id: string): string {
  return prebuiltAppConfig.model_list.find((m) => m.model_id === id)!.model_lib;
}

export interface Reload {
  modelId: string;
  model: string;
  modelLib: string;
}

/** What the stand-in was asked to reload, in order, in the web-llm worker that holds the actor. */
export async function reloads(page: Page): Promise<Reload[]> {
  const all: Reload[][] = [];
  for (const w of page.workers().filter((x: Worker) => x.url().includes('/assets/webllm.worker-'))) {
    all.push(await w.evaluate(() => (self as unknown as { standIn?: { reloads: Reload[] } }).standIn?.reloads ?? []).catch(() => []));
  }
  return all.sort((a, b) => b.length - a.length)[0] ?? [];
}

/** Picks the SmolLM2 catalog entry on the web-llm engine as the actor and loads it: the q4 build, on this GPU. */
export async function loadWebLlmActor(page: Page): Promise<void> {
  await page.getByTestId('actor-engine-kind').selectOption('webllm');
  await page.getByTestId('actor-webllm-model').selectOption('smollm2-360m');
  await page.getByTestId('actor-load').click();
  await expect(page.getByTestId('actor-ready')).toContainText(Q4, { timeout: 60_000 });
}

/**
 * A new experiment of `train` + `held` toy tasks whose actor, on the `tab` tab, is the stand-in web-llm's q4
 * build (the builds seeded into web-llm's cache); the note under it says each round's adapter merges into Q4.
 * Returns the experiment's id.
 */
export async function webllmActorExperiment(page: Page, mlc: MlcBuilds, name: string, tab: 'self' | 'srt', train: number, held: number): Promise<string> {
  await standIn(page);
  await openApp(page, '#/');
  const id = await createExperiment(page, name);
  await seedBuilds(page, mlc);
  await addToyTasks(page, id, train, held);
  await page.goto(`/#/experiments/${id}/${tab}`);
  await loadWebLlmActor(page);
  await expect(page.getByTestId('actor-evolving-note')).toContainText(`merged into ${Q4}`);
  return id;
}

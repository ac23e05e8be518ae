/**
 * SELF on a web-llm actor through the app, in Chromium, with WEB-LLM'S WEBGPU COMPUTE STOOD IN. No MLC model
 * library can be compiled or downloaded here, so the app's web-llm worker is served (by this test's routes
 * only) as tests/e2e/webllm-standin: the same host code (src/core/engine/webllm/host.ts) with MLCEngine
 * replaced by our tfjs runtime on the cached MLC files. Everything else is the app's own: web-llm's cache
 * scopes (the toy model exported by `lm mlc-export`, seeded at the catalog record URL of
 * SmolLM2-360M-Instruct-q4f32_1-MLC, which this GPU's lack of shader-f16 picks), trainingActor, training in
 * the tfjs worker from the same cached files, the merge in the evolve worker, the evolved-model registry, and
 * web-llm switching to each round's evolved model. Then the 4-bit note's button switches the actor to the
 * q0f32 build (seeded too), stored as the experiment's actor choice.
 */
import { expect, test } from '@playwright/test';
import { modelLib, prepareStandIn, Q0, Q4, reloads, webllmActorExperiment, webllmLog, type MlcBuilds } from './helpers/webllm-standin.ts';
import { readRows } from './playground-helpers.ts';
import { setNumber } from './pipeline-helpers.ts';

let mlc: MlcBuilds;

test.beforeAll(async () => {
  mlc = await prepareStandIn();
});

test('SELF on a web-llm actor (web-llm compute stood in by tfjs): collects on web-llm, trains from its cached files, merges, and the next round runs on the evolved model', async ({ page }) => {
  test.setTimeout(360_000);
  page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
  const id = await webllmActorExperiment(page, mlc, 'SELF on web-llm', 'self', 6, 2);
  await expect(page.getByTestId('actor-evolving-note')).toContainText('requantized');

  await setNumber(page, 'self-rounds', 2);
  await setNumber(page, 'self-per-round', 3);
  await setNumber(page, 'self-eval-count', 2);
  await setNumber(page, 'self-batch', 3);
  await page.getByTestId('self-filter-verdict').uncheck(); // every loop trains: this test is about the wiring
  await page.getByTestId('self-train-length').selectOption('steps');
  await setNumber(page, 'self-train-steps', 2);
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { selfSeen: string[] }).selfSeen = seen;
    new MutationObserver(() => {
      const phase = document.querySelector('[data-testid="self-progress"]')?.getAttribute('data-phase') ?? '';
      const line = `${phase} | ${document.querySelector('[data-testid="self-message"]')?.textContent ?? ''}`;
      if (seen.at(-1) !== line) seen.push(line);
    }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
  });
  const logBefore = (await webllmLog(page)).length;
  await page.getByTestId('start-self').click();
  await expect(page.getByTestId('self-live')).toHaveAttribute('data-status', 'done', { timeout: 300_000 });

  // Each round's adapter became an evolved model, and the next round's model is it: round 1 on the catalog build's
  // evolution e1, round 2 on e2 (the stored run names them, the stand-in was reloaded with exactly those).
  const [row] = (await readRows<{ kind: string; progress: { actorModels: Record<string, string> }; metrics: { round: number; mergeExact?: number; logitsKept?: number }[] }>(page, 'runs')).filter((r) => r.kind === 'self');
  const models = row.progress.actorModels;
  expect(models['0']).toBe(Q4);
  for (const r of ['1', '2']) expect(models[r]).toMatch(new RegExp(`^${Q4}-evolved-[0-9a-z]+$`));
  expect(models['1']).not.toBe(models['2']);
  for (const m of row.metrics.filter((x) => x.round > 0)) {
    expect(m.mergeExact).toBe(0);
    expect(typeof m.logitsKept).toBe('number');
  }
  const origin = new URL(page.url()).origin;
  const lib = modelLib(Q4);
  const loaded = await reloads(page);
  expect(loaded.map((r) => r.modelId)).toEqual([Q4, models['1'], models['2']]);
  for (const r of loaded.slice(1)) expect(r).toEqual({ modelId: r.modelId, model: `${origin}/webllm-evolved/${r.modelId}/resolve/main/`, modelLib: lib });
  const evolved = await page.evaluate(async () => (await (await caches.open('studio/evolved-models')).keys()).length);
  expect(evolved).toBe(2);

  // The stand-in read the evolved models from the cache scopes, and fetched nothing but its own script assets.
  const log = (await webllmLog(page)).slice(logBefore);
  expect(log.filter((e) => e.op === 'match' && e.url.startsWith(`${origin}/webllm-evolved/`) && e.url.endsWith('tensor-cache.json')).every((e) => e.hit)).toBe(true);
  expect(log.filter((e) => e.op === 'match' && e.url.includes(models['2'])).length).toBeGreaterThan(0);
  expect(log.filter((e) => e.op === 'fetch' && !new URL(e.url).pathname.startsWith('/assets/'))).toEqual([]);
  expect(log.filter((e) => e.op === 'add')).toEqual([]);

  // The bar went on through the train phase while the adapter was merged, written and its retention measured.
  const seen = await page.evaluate(() => (window as unknown as { selfSeen: string[] }).selfSeen);
  for (const words of ['merging the adapter into the web-llm model', 'saving', 'measuring how much of the adapter']) {
    expect(seen.some((s) => s.startsWith('Round 1: LoRA training |') && s.includes(words))).toBe(true);
  }

  // The exact path: one button switches the actor to the q0f32 build, and the experiment keeps that choice.
  await page.getByTestId('actor-use-exact').click();
  await expect(page.getByTestId('actor-ready')).toContainText(Q0, { timeout: 60_000 });
  await expect(page.getByTestId('actor-evolving-note')).toContainText('merged exactly');
  await expect(page.getByTestId('actor-use-exact')).toHaveCount(0);
  const [exp] = (await readRows<{ id: string; modelId: string; settings: { engines: { actor: unknown } } }>(page, 'experiments')).filter((e) => e.id === id);
  expect(exp.settings.engines.actor).toEqual({ kind: 'webllm', modelId: Q0 });
  expect(exp.modelId).toBe(Q0);
  await expect(page.getByTestId('actor-webllm-model')).toHaveValue(Q0);
});

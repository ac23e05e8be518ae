/**
 * A SELF round through the SELF tab with the real tfjs worker (wasm): small counts, one progress bar across the
 * phases, the round's metrics stored in the run row and shown, the training run and adapter stored, and the
 * evaluation table of issue 6. Twice, and both always run: on the embedded toy model (created by the empty
 * page's quick start; public/models/toy-arith is committed), and on the tiny-llama fixture from the hub
 * stand-in, whose text is noise but whose round runs through every phase the same way (its default filter
 * keeps every answered loop, so it trains too).
 */
import { existsSync, readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { openApp, createExperiment, recordDialogs } from './helpers/app.ts';
import { readRows } from './playground-helpers.ts';
import { unzipSync } from 'fflate';
import { addToyTasks, blobSizes, download, loadTinyLlama, loadToy, setNumber, TOY_BUILT } from './pipeline-helpers.ts';

const BENCH_TABLE = 'public/models/toy-arith/self_eval.json';

interface RunRow {
  id: string;
  kind: string;
  status: string;
  config: { trainTaskIds: string[]; evalTaskIds: string[]; settings: { rounds: number } };
  progress: { checkpoint: { phase: string; round: number; adapterId: string | null }; phaseMs: Record<string, number> } | null;
  metrics: { round: number; directAccuracy?: number; refinedAccuracy?: number; selfFeedbackAccuracy?: number; selfFeedbackCaught?: number; evalTasks: number; kept?: number; loops?: number; rows?: number; trainRows?: number }[];
}

const TRAIN = 12;
const EVAL = 8;

/** Starts one SELF round on the SELF tab (the engine loaded) and checks everything it stores and shows. */
async function selfRound(page: Page, model: 'toy' | 'tiny-llama'): Promise<RunRow> {
  await setNumber(page, 'self-rounds', 1);
  await setNumber(page, 'self-per-round', TRAIN);
  await setNumber(page, 'self-eval-count', EVAL);
  await setNumber(page, 'self-batch', 8);
  // The toy model's default meta-skill mix is 200 + 50 corpus chats: a small one here (tiny-llama's default is none).
  const mix = model === 'toy' ? 10 : 0;
  if (mix > 0) {
    await setNumber(page, 'self-mix-feedback', 8);
    await setNumber(page, 'self-mix-refine', 2);
  }
  // Every change of the bar, recorded in the page as it happens (a phase can be shorter than any polling interval).
  await page.evaluate(() => {
    const seen: { phase: string; fraction: number }[] = [];
    (window as unknown as { selfBar: typeof seen }).selfBar = seen;
    new MutationObserver(() => {
      const el = document.querySelector('[data-testid="self-progress"]');
      if (!el) return;
      const phase = el.getAttribute('data-phase') ?? '';
      const fraction = Number(el.getAttribute('data-fraction'));
      const last = seen.at(-1);
      if (!last || last.phase !== phase || last.fraction !== fraction) seen.push({ phase, fraction });
    }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-phase', 'data-fraction'] });
  });
  await page.getByTestId('start-self').click();
  // One bar across all phases: it moves forward through the phases and ends at 100 %.
  const live = page.getByTestId('self-live');
  await expect(live).toHaveAttribute('data-status', 'done', { timeout: 150_000 });
  await expect(page.getByTestId('self-progress-bar-label')).toContainText('100 %');
  const bar = await page.evaluate(() => (window as unknown as { selfBar: { phase: string; fraction: number }[] }).selfBar);
  const seen = new Set(bar.map((b) => b.phase));
  const fractions = bar.map((b) => b.fraction);
  expect([...seen]).toEqual(['Baseline evaluation', 'Round 1: Answer, self-feedback, self-refine', 'Round 1: LoRA training', 'Round 1: Evaluation', 'Done']);
  expect(fractions.length).toBeGreaterThan(8);
  for (let i = 1; i < fractions.length; i++) expect(fractions[i]).toBeGreaterThanOrEqual(fractions[i - 1] - 1e-9);

  // The stored run: config, the last checkpoint, time per phase, one metrics point per evaluated round.
  const runs = (await readRows<RunRow>(page, 'runs')).filter((r) => r.kind === 'self');
  expect(runs).toHaveLength(1);
  const run = runs[0];
  expect(run).toMatchObject({ kind: 'self', status: 'done' });
  expect(run.config.trainTaskIds).toHaveLength(TRAIN);
  expect(run.config.evalTaskIds).toHaveLength(EVAL);
  expect(run.progress?.checkpoint.phase).toBe('done');
  expect(Object.keys(run.progress?.phaseMs ?? {}).sort()).toEqual(['0:baseline', '1:collect', '1:evaluate', '1:train']);
  expect(run.metrics.map((m) => m.round)).toEqual([0, 1]);
  for (const m of run.metrics) {
    expect(m.evalTasks).toBe(EVAL);
    expect(m.directAccuracy).toBeGreaterThanOrEqual(0);
    expect(m.refinedAccuracy).toBeGreaterThanOrEqual(0);
    expect(m.selfFeedbackAccuracy).toBeGreaterThanOrEqual(0);
  }
  expect(run.metrics[1].loops).toBe(TRAIN);

  // Steps: every loop id is the run's, evaluations labelled by round; the round's answers use the new adapter.
  const steps = await readRows<{ runId: string; loopId: string; kind: string; evolutionRound: number; adapterId: string | null; score: number | null }>(page, 'steps');
  const own = steps.filter((s) => s.runId === run.id);
  expect(own.every((s) => s.loopId.startsWith(`${run.id}/r`))).toBe(true);
  const evals = own.filter((s) => s.kind === 'evaluation');
  expect(evals.filter((s) => s.loopId.includes('/r0/eval-direct/'))).toHaveLength(EVAL);
  expect(evals.filter((s) => s.loopId.includes('/r1/eval-direct/'))).toHaveLength(EVAL);
  expect(evals.filter((s) => s.loopId.includes('/r1/eval-refine/'))).toHaveLength(EVAL);
  const direct1 = evals.filter((s) => s.loopId.includes('/r1/eval-direct/'));
  expect(direct1.filter((s) => s.score === 1).length / EVAL).toBeCloseTo(run.metrics[1].directAccuracy!, 6);

  // The training run and its adapter.
  const training = await readRows<{ id: string; status: string; adapterId: string; config: { origin: { kind: string; runId: string } } }>(page, 'trainingRuns');
  const adapters = await readRows<{ id: string; trainingRunId: string; name: string }>(page, 'adapters');
  // The round kept rows and trained on them (a round that keeps nothing would check none of this).
  expect(run.metrics[1].trainRows).toBeGreaterThan(0);
  expect(run.metrics[1].trainRows).toBe(run.metrics[1].rows! + mix);
  expect(training).toHaveLength(1);
  expect(training[0]).toMatchObject({ status: 'done', config: { origin: { kind: 'self', runId: run.id } } });
  expect(adapters).toEqual([expect.objectContaining({ id: training[0].adapterId, trainingRunId: training[0].id, name: 'SELF round 1' })]);
  expect(run.progress?.checkpoint.adapterId).toBe(adapters[0].id);
  expect(own.filter((s) => s.loopId.includes('/r1/eval-')).every((s) => s.adapterId === adapters[0].id)).toBe(true);
  const [sizes] = await blobSizes(page, 'adapters', ['weights', 'gguf']);
  expect(sizes.weights).toBeGreaterThan(0);
  expect(sizes.gguf).toBeGreaterThan(0);
  const metricRows = await readRows<{ trainingRunId: string; step: number }>(page, 'trainingMetrics');
  expect(metricRows.length).toBeGreaterThan(0);

  // Shown: the round table on the SELF tab and the table of issue 6 on the Evaluation tab.
  await expect(page.getByTestId('self-rounds-table-row')).toHaveCount(2);
  await page.getByTestId('tab-evaluation').click();
  const table = page.getByTestId('self-results');
  await expect(table).toHaveAttribute('data-runs', '1');
  const pct = (x: number | undefined) => (x! * 100).toFixed(1);
  await expect(table.locator('[data-key="directAccuracy"] [data-round="0"]')).toHaveText(pct(run.metrics[0].directAccuracy));
  await expect(table.locator('[data-key="directAccuracy"] [data-round="1"]')).toHaveText(pct(run.metrics[1].directAccuracy));
  await expect(table.locator('[data-key="selfFeedbackAccuracy"] [data-round="0"]')).toHaveText(pct(run.metrics[0].selfFeedbackAccuracy));
  await expect(page.getByTestId('self-results-gain')).toBeVisible();
  // A round whose held-out drafts were all right has no catch rate: the table says why its cell is empty.
  const nothingToCatch = page.getByTestId('self-results-nothing-to-catch');
  if (run.metrics[1].selfFeedbackCaught == null && run.metrics[1].selfFeedbackAccuracy != null) {
    await expect(table.locator('[data-key="selfFeedbackCaught"] [data-round="1"]')).toHaveText('—');
    await expect(nothingToCatch).toContainText('after round 1: every held-out draft was right');
  } else await expect(nothingToCatch).toHaveCount(0);
  if (model === 'toy') {
    // The committed bench table (npm run bench -- --only toy-self) is shown next to the runs of this browser.
    expect(existsSync(BENCH_TABLE), `${BENCH_TABLE} is committed`).toBe(true);
    const bench = JSON.parse(readFileSync(BENCH_TABLE, 'utf8')) as { table: { rows: { key: string; stat: { mean: number } }[] }; results: { rounds: unknown[] }[] };
    const reference = page.getByTestId('bench-reference');
    await reference.locator('summary').first().click();
    // The comparison table: the base model, then each SELF round (then SRT's stages when srt_eval.json is there).
    const rounds = bench.results[0].rounds.length;
    await expect(reference.getByTestId('bench-comparison-row').first()).toHaveAttribute('data-key', 'base');
    await expect(reference.locator(`[data-testid="bench-comparison-row"][data-key="self.r${rounds - 1}"]`)).toHaveCount(1);
    // The chart's round axis shows whole rounds only.
    const ticks = await reference.getByTestId('bench-rounds-chart-x-tick').allTextContents();
    expect(ticks.length).toBeGreaterThan(1);
    expect(ticks.every((t) => /^\d+$/.test(t))).toBe(true);
    await reference.getByText('Every SELF measure').click();
    const first = bench.table.rows.find((r) => r.key === 'direct.r0')!;
    const table = reference.getByTestId('bench-self-table');
    await expect(table.locator('tr').first()).toContainText(first.stat.mean.toFixed(1));
    await expect(table.locator('tr')).toHaveCount(bench.table.rows.length);
  }
  const runTicks = await page.getByTestId('self-results-chart-x-tick').allTextContents();
  expect(runTicks.every((t) => /^\d+$/.test(t))).toBe(true);
  await page.screenshot({ path: test.info().outputPath(`self-round-${model}.png`), fullPage: true });
  return run;
}

test('one SELF round on the embedded toy model (quick start): progress across phases, stored round metrics, adapter, evaluation table', async ({ page }) => {
  expect(TOY_BUILT, 'the toy model is committed in public/models/toy-arith').toBe(true);
  const dialogs = recordDialogs(page);
  await openApp(page);
  // The quick start lands on the playground with the model loading and a toy question chosen: Run works at once.
  await page.getByTestId('create-toy-experiment').click();
  await expect(page.getByTestId('experiment-title')).toHaveText('Toy arithmetic (offline)');
  await expect(page.getByTestId('actor-ready')).toContainText('toy-arith', { timeout: 60_000 });
  await page.getByTestId('run-loop').click();
  await expect(page.getByTestId('live-run')).toHaveAttribute('data-status', 'done', { timeout: 60_000 });
  await page.getByTestId('tab-self').click();
  await loadToy(page);
  await selfRound(page, 'toy');

  // The round's adapter exports like any other: PEFT files for the toy model, GGUF, model card.
  await page.getByTestId('tab-adapters').click();
  const zip = unzipSync(new Uint8Array(await download(page, () => page.getByTestId('adapter-export').click())));
  expect(Object.keys(zip).sort()).toEqual(['README.md', 'adapter.gguf', 'adapter_config.json', 'adapter_model.safetensors']);
  const cfg = JSON.parse(new TextDecoder().decode(zip['adapter_config.json'])) as Record<string, unknown>;
  expect(cfg).toMatchObject({ peft_type: 'LORA', base_model_name_or_path: 'toy-arith', r: 8, lora_alpha: 16 });
  expect(new TextDecoder().decode(zip['adapter.gguf'].subarray(0, 4))).toBe('GGUF');
  expect(dialogs).toEqual([]);
});

test('one SELF round on the tiny-llama fixture from the hub stand-in: the same phases, metrics, training and table', async ({ page }) => {
  const dialogs = recordDialogs(page);
  await openApp(page);
  const id = await createExperiment(page, 'SELF on tiny-llama');
  await addToyTasks(page, id, TRAIN, EVAL);
  await page.goto(`/#/experiments/${id}/self`);
  await loadTinyLlama(page);
  await setNumber(page, 'self-answer-tokens', 4);
  await setNumber(page, 'self-feedback-tokens', 6);
  await setNumber(page, 'self-train-seqlen', 64);
  const run = await selfRound(page, 'tiny-llama');
  // Its default filter keeps every answered loop: all of them train.
  expect(run.metrics[1].trainRows).toBe(TRAIN);
  expect(dialogs).toEqual([]);
});

/**
 * One SELF round of the embedded toy model through the BUILT APP in Chromium, as a teacher would run it: the empty
 * page's quick start creates "Toy arithmetic (offline)", the SELF tab runs one round with the toy defaults
 * (200 unlabeled questions answered, self-feedback, self-refinement, the model's own filter, LoRA training,
 * evaluation on 200 held-out questions; plus the baseline evaluation before it) on the tfjs engine in its
 * worker (wasm here: SwiftShader is not a hardware adapter). Records the wall time of the round and of each
 * phase (active time from the run's stored progress), how long the progress bar ever stood still, and the
 * round's stored metrics. Issue 6's goal: the round (collect + train + evaluate) within 5 minutes on 2 cores.
 *
 * Node only: it builds the app into a temporary folder, serves it with `vite preview` (the app's headers) and
 * drives Chromium with Playwright. `--quick`: 40 unlabeled and 40 held-out questions.
 * TOY_MODEL_DIR=<folder> runs it on another build of the toy model (copied over public/models/toy-arith).
 * A full run (not --quick, not TOY_MODEL_DIR) writes its figures next to the model,
 * public/models/toy-arith/browser_round.json, which the toy README's generated block reads.
 */
import type { BenchContext, BenchSuite, SuiteRow } from '../lib/types.ts';
import type { BrowserRoundRecord } from '../../../src/core/toy/comparison.ts';

// Node-only modules, imported at run time by name: the runtime harness bundles every suite for the browser.
const NODE = {
  fs: 'node:fs/promises',
  os: 'node:os',
  path: 'node:path',
  net: 'node:net',
  vite: 'vite',
  pw: '@playwright/test',
  chromium: '../../scripts/chromium-path.ts',
  pwConfig: '../../e2e/playwright.config.ts',
} as const;

async function load<T>(name: string): Promise<T> {
  return (await import(/* @vite-ignore */ name)) as T;
}

interface StoredRun {
  status: string;
  error: string | null;
  metrics: { round: number; [k: string]: number }[];
  progress: { phaseMs?: Record<string, number> } | null;
  startedAt: number;
  finishedAt: number | null;
}

export const suite: BenchSuite = {
  name: 'toy-browser-self',
  description: 'One SELF round of the toy model via the built app (SELF tab) in Chromium on wasm: wall time per phase, metrics',
  environments: ['node'],
  async run(ctx: BenchContext): Promise<SuiteRow[]> {
    const fs = await load<typeof import('node:fs/promises')>(NODE.fs);
    const os = await load<typeof import('node:os')>(NODE.os);
    const path = await load<typeof import('node:path')>(NODE.path);
    const net = await load<typeof import('node:net')>(NODE.net);
    const vite = await load<typeof import('vite')>(NODE.vite);
    const { chromium } = await load<typeof import('@playwright/test')>(NODE.pw);
    const { chromiumPath } = await load<typeof import('../../scripts/chromium-path.ts')>(NODE.chromium);
    const pwConfig = (await load<typeof import('../../e2e/playwright.config.ts')>(NODE.pwConfig)).default;
    const root = path.resolve(import.meta.dirname, '../../..');
    const quick = ctx.options.quick === true;
    const perRound = quick ? 40 : 200;
    const evalCount = quick ? 40 : 200;

    const outDir = await fs.mkdtemp(path.join(os.tmpdir(), 'srs-bench-app-'));
    ctx.log(`building the app into ${outDir}…`);
    await vite.build({ root, configFile: path.join(root, 'vite.config.ts'), logLevel: 'warn', build: { outDir, emptyOutDir: true } });
    const modelDir = path.join(outDir, 'models/toy-arith');
    if (process.env.TOY_MODEL_DIR) {
      for (const f of await fs.readdir(process.env.TOY_MODEL_DIR)) {
        if (/\.(json|safetensors)$/.test(f)) await fs.copyFile(path.join(process.env.TOY_MODEL_DIR, f), path.join(modelDir, f));
      }
      ctx.log(`toy model from ${process.env.TOY_MODEL_DIR}`);
    }
    for (const f of ['config.json', 'model.safetensors']) {
      await fs.access(path.join(modelDir, f)).catch(() => {
        throw new Error(`toy-browser-self: the toy model is not built (${f} missing in public/models/toy-arith). Run npm run toy:build, or set TOY_MODEL_DIR.`);
      });
    }
    const port = await new Promise<number>((ok, fail) => {
      const s = net.createServer();
      s.once('error', fail);
      s.listen(0, '127.0.0.1', () => {
        const a = s.address();
        s.close(() => ok(typeof a === 'object' && a ? a.port : 0));
      });
    });
    const server = await vite.preview({ root, configFile: path.join(root, 'vite.config.ts'), logLevel: 'warn', build: { outDir }, preview: { port, strictPort: true } });
    const browser = await chromium.launch({ executablePath: chromiumPath(), args: pwConfig.use?.launchOptions?.args ?? [] });
    try {
      const page = await browser.newPage();
      page.on('pageerror', (e) => ctx.log(`page error: ${e.message}`));
      await page.goto(`http://localhost:${port}/#/`);
      await page.locator('main[data-phase="ready"]').waitFor();
      await page.getByTestId('create-toy-experiment').click();
      await page.getByTestId('experiment-title').waitFor();
      const id = decodeURIComponent(new URL(page.url()).hash.split('/')[2]);
      await page.goto(`http://localhost:${port}/#/experiments/${id}/self`);
      // The quick start began loading the model; load it here if that did not survive the navigation.
      const ready = page.getByTestId('actor-ready');
      if (!(await ready.isVisible())) {
        if ((await page.getByTestId('actor-slot').getAttribute('data-status')) !== 'loading') await page.getByTestId('actor-load').click();
        await ready.waitFor({ timeout: 120_000 });
      }
      const backend = (await page.getByTestId('actor-detail').textContent()) ?? '';
      ctx.log(backend);
      // The settings sit in a folded <details>.
      await page.getByTestId('self-settings').evaluate((d) => ((d as HTMLDetailsElement).open = true));
      const fill = async (testId: string, v: number) => page.getByTestId(testId).fill(String(v));
      await fill('self-rounds', 1);
      await fill('self-per-round', perRound);
      await fill('self-eval-count', evalCount);
      const clicked = Date.now();
      await page.getByTestId('start-self').click();

      // Watch the bar: phases as they come, and the longest time it stood still.
      const bar = page.getByTestId('self-progress');
      const live = page.getByTestId('self-live');
      await bar.waitFor({ timeout: 60_000 });
      let last = '';
      let lastChange = Date.now();
      let longestStall = 0;
      let lastPhase = '';
      for (;;) {
        const status = await live.getAttribute('data-status');
        const label = (await page.getByTestId('self-progress-bar-label').textContent()) ?? '';
        const fraction = (await bar.getAttribute('data-fraction')) ?? '';
        const phase = (await bar.getAttribute('data-phase')) ?? '';
        const now = Date.now();
        if (fraction !== last) {
          longestStall = Math.max(longestStall, now - lastChange);
          last = fraction;
          lastChange = now;
        }
        if (phase !== lastPhase) {
          ctx.log(`${((now - clicked) / 1000).toFixed(1)} s: ${label}`);
          lastPhase = phase;
        }
        if (status !== 'running') break;
        if (now - clicked > 30 * 60_000) throw new Error('toy-browser-self: the SELF run took more than 30 minutes; stopped waiting.');
        await page.waitForTimeout(500);
      }
      const wall = (Date.now() - clicked) / 1000;
      const run = await page.evaluate(
        () =>
          new Promise<StoredRun>((resolve, reject) => {
            const open = indexedDB.open('self-refine-studio');
            open.onerror = () => reject(open.error);
            open.onsuccess = () => {
              const req = open.result.transaction('runs', 'readonly').objectStore('runs').getAll();
              req.onsuccess = () => resolve((req.result as (StoredRun & { kind: string })[]).find((r) => r.kind === 'self')!);
              req.onerror = () => reject(req.error);
            };
          }),
      );
      if (run.status !== 'done') throw new Error(`toy-browser-self: the SELF run ended ${run.status}: ${run.error ?? ''}`);
      const ms = run.progress?.phaseMs ?? {};
      const s = (k: string) => (ms[k] ?? 0) / 1000;
      const round = s('1:collect') + s('1:train') + s('1:evaluate');
      const backendName = /Backend: (\w+)/.exec(backend)?.[1] ?? 'unknown';
      const note = `${perRound} unlabeled, ${evalCount} held-out; ${backend.replace(/\s+/g, ' ').slice(0, 120)}`;
      const rows: SuiteRow[] = [
        { backend: backendName, metric: 'SELF round 1 (collect + train + evaluate)', value: round, unit: 's', note: `goal ≤ 300 s; ${note}` },
        { backend: backendName, metric: 'round 1: answer, self-feedback, self-refine', value: s('1:collect'), unit: 's' },
        { backend: backendName, metric: 'round 1: LoRA training', value: s('1:train'), unit: 's' },
        { backend: backendName, metric: 'round 1: evaluation (direct + self-refined)', value: s('1:evaluate'), unit: 's' },
        { backend: backendName, metric: 'baseline evaluation (before round 1)', value: s('0:baseline'), unit: 's' },
        { backend: backendName, metric: 'whole run, click to done (baseline + round 1)', value: wall, unit: 's' },
        { backend: backendName, metric: 'longest time the progress bar stood still', value: longestStall / 1000, unit: 's' },
      ];
      const pct = (round: number, key: string) => {
        const v = run.metrics.find((m) => m.round === round)?.[key];
        return typeof v === 'number' ? 100 * v : NaN;
      };
      for (const [key, label] of [
        ['directAccuracy', 'direct-answer accuracy'],
        ['refinedAccuracy', 'accuracy with self-refinement'],
        ['selfFeedbackAccuracy', 'self-feedback verdict accuracy'],
        ['selfFeedbackCaught', 'own feedback calls wrong drafts wrong'],
        ['selfFeedbackFalseAlarm', 'false alarms on right drafts'],
      ] as const) {
        rows.push({ backend: backendName, metric: `${label}, before any round`, value: pct(0, key), unit: '%' });
        rows.push({ backend: backendName, metric: `${label}, after round 1`, value: pct(1, key), unit: '%' });
      }
      const r1 = run.metrics.find((m) => m.round === 1);
      rows.push({ backend: backendName, metric: 'round 1: loops kept by the model\'s own filter', value: r1?.kept ?? NaN, unit: 'loops', note: `of ${r1?.loops ?? '?'}` });
      rows.push({ backend: backendName, metric: 'round 1: training rows / final loss', value: r1?.trainRows ?? NaN, unit: 'rows', note: `final loss ${r1?.trainLoss?.toFixed(4) ?? '—'}, ${r1?.trainSteps ?? '?'} steps` });
      if (!quick && !process.env.TOY_MODEL_DIR) {
        const record: BrowserRoundRecord = {
          command: 'npm run bench -- --only toy-browser-self',
          measuredAt: new Date().toISOString(),
          backend: backend.replace(/\s+/g, ' ').trim(),
          perRound,
          evalCount,
          seconds: { round, collect: s('1:collect'), train: s('1:train'), evaluate: s('1:evaluate'), baseline: s('0:baseline'), wall, longestStall: longestStall / 1000 },
          metrics: run.metrics,
        };
        const file = path.join(root, 'public/models/toy-arith/browser_round.json');
        await fs.writeFile(file, `${JSON.stringify(record, null, 1)}\n`);
        ctx.log(`wrote ${file}`);
      }
      return rows;
    } finally {
      await browser.close();
      await new Promise<void>((done) => server.httpServer.close(() => done()));
      await fs.rm(outDir, { recursive: true, force: true });
    }
  },
};

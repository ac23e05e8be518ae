/**
 * SRT on the embedded toy model, next to SELF: for the same seeds (TOY_BENCH_SEEDS) and held-out questions as
 * the toy-self suite, the reference critic (the program annotator, labelled as such) reviews and refines the base
 * model's drafts of the 600 unlabeled questions SELF rounds 1–3 answer; SFT on its feedback then refinement
 * (and, as SRT's ablation, on the refinement only), then DPO from each SFT adapter. Reports each adapter's
 * direct accuracy, accuracy with self-refinement, its own feedback's catch rate and false alarms (mean over
 * seeds). Node only. `--quick`: one seed, 40 unlabeled and 40 held-out questions, the feedback variant only.
 * A full run stores its numbers next to the model (public/models/toy-arith/srt_eval.json, with the SHA-256 of the
 * weights it measured): the README's table and the app's Evaluation tab put them next to SELF's.
 */
import type { BenchContext, BenchSuite, SuiteRow } from '../lib/types.ts';
import { MEASURES, MEASURE_LABELS, toyComparison, toySrtRecord } from '../../../src/core/toy/comparison.ts';

const NODE_RUNNER = '../../../src/cli/toy-srt-run.ts';
const NODE_SEEDS = '../../../src/cli/toy-self-run.ts';
const NODE_WEIGHTS = '../../../src/cli/toy-weights.ts';

export const suite: BenchSuite = {
  name: 'toy-srt',
  description: 'SRT on the toy model with the reference critic: SFT (feedback then refinement / refinement only), then DPO; held-out accuracy, self-refinement, own-feedback catch rate (3 seeds)',
  environments: ['node'],
  async run(ctx: BenchContext): Promise<SuiteRow[]> {
    const backend = await ctx.useBackend('wasm');
    const quick = ctx.options.quick === true;
    const { runToySrtSeeds } = (await import(/* @vite-ignore */ NODE_RUNNER)) as typeof import('../../../src/cli/toy-srt-run.ts');
    const { TOY_BENCH_SEEDS } = (await import(/* @vite-ignore */ NODE_SEEDS)) as typeof import('../../../src/cli/toy-self-run.ts');
    const { resolve, join } = await import(/* @vite-ignore */ 'node:path');
    const { writeFileSync } = await import(/* @vite-ignore */ 'node:fs');
    const { folderWeights, weightsChangedSince } = (await import(/* @vite-ignore */ NODE_WEIGHTS)) as typeof import('../../../src/cli/toy-weights.ts');
    const modelDir = resolve(import.meta.dirname, '../../../public/models/toy-arith');
    const weights = await folderWeights(modelDir);
    const settings = quick ? { rounds: 1, perRound: 40, evalCount: 40, variants: ['feedback' as const] } : { rounds: 3, perRound: 200, evalCount: 200, variants: ['feedback' as const, 'refine-only' as const] };
    const results = await runToySrtSeeds({ modelDir, seeds: quick ? [TOY_BENCH_SEEDS[0]] : [...TOY_BENCH_SEEDS], ...settings, log: ctx.log });
    const record = toySrtRecord('npm run bench -- --only toy-srt', settings, results, weights);
    if (!quick) {
      const changed = await weightsChangedSince(modelDir, weights);
      const file = join(modelDir, 'srt_eval.json');
      if (changed) ctx.log(changed);
      else {
        writeFileSync(file, `${JSON.stringify(record, null, 1)}\n`);
        ctx.log(`wrote ${file}`);
      }
    }
    const table = toyComparison({ results: results.map((r) => ({ seed: r.seed, rounds: [r.base] })) }, record);
    return table.rows.flatMap((r) =>
      MEASURES.map((m) => ({
        backend: backend.name,
        metric: `${r.label}: ${MEASURE_LABELS[m]}`,
        value: r.cells[m].mean,
        unit: '%',
        note: `mean of seeds ${table.seeds.join(',')}; std ${r.cells[m].std.toFixed(1)}; per seed ${r.cells[m].values.map((v) => v.toFixed(1)).join(' / ')}`,
      })),
    );
  },
};

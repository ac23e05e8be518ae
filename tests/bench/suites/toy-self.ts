/**
 * SELF on the embedded toy model: for 3 seeds of unlabeled and held-out questions (TOY_BENCH_SEEDS, never used
 * for tuning), the base model is evaluated, then three SELF rounds run (answer 200 new questions, self-feedback,
 * self-refinement, keep what the model's own feedback calls correct, LoRA training on that, its own feedback and
 * refinement calls and the meta-skill mix, evaluation on 200 held-out questions). Reports, as mean and spread
 * over the seeds: direct-answer accuracy before / after each round, accuracy with inference-time
 * self-refinement, self-feedback verdict accuracy, catch rate and false alarms, the gains, and the wall time of
 * a round; logs the goals as met or not.
 * Node only (the in-process tfjs engine on wasm, the committed model in public/models/toy-arith).
 * `--quick`: one seed, one round of 40 questions, 40 held-out questions (checks the machinery).
 * A full run also stores its numbers next to the model (public/models/toy-arith/self_eval.json), with the SHA-256
 * of the weights it measured, which the app's Evaluation tab and the README's generated table show.
 */
import type { BenchContext, BenchSuite, SuiteRow } from '../lib/types.ts';
import { toySelfRecord, toySelfTable } from '../../../src/core/toy/self-summary.ts';
import { TOY_SELF_DEFAULTS } from '../../../src/core/toy/self-experiment.ts';
import { TOY_SELF_TRAIN, toySelfTrainConfig } from '../../../src/core/toy/self-train.ts';
import { goalsMarkdown, selfGoals } from '../../../src/core/toy/comparison.ts';

// The runner touches Node (model folder, wasm files): loaded at run time only, so the browser harness that
// bundles every suite never pulls it in.
const NODE_RUNNER = '../../../src/cli/toy-self-run.ts';
const NODE_WEIGHTS = '../../../src/cli/toy-weights.ts';

export const suite: BenchSuite = {
  name: 'toy-self',
  description: 'SELF rounds on the toy model: held-out accuracy before/after rounds, self-refine, self-feedback (3 seeds)',
  environments: ['node'],
  async run(ctx: BenchContext): Promise<SuiteRow[]> {
    const backend = await ctx.useBackend('wasm');
    const quick = ctx.options.quick === true;
    const { runToySelfSeeds, TOY_BENCH_SEEDS } = (await import(/* @vite-ignore */ NODE_RUNNER)) as typeof import('../../../src/cli/toy-self-run.ts');
    const { resolve, join } = await import(/* @vite-ignore */ 'node:path');
    const { writeFileSync } = await import(/* @vite-ignore */ 'node:fs');
    const { folderWeights, weightsChangedSince } = (await import(/* @vite-ignore */ NODE_WEIGHTS)) as typeof import('../../../src/cli/toy-weights.ts');
    const modelDir = resolve(import.meta.dirname, '../../../public/models/toy-arith');
    const weights = await folderWeights(modelDir);
    const results = await runToySelfSeeds({
      modelDir,
      seeds: quick ? [TOY_BENCH_SEEDS[0]] : [...TOY_BENCH_SEEDS],
      rounds: quick ? 1 : 3,
      perRound: quick ? 40 : 200,
      evalCount: quick ? 40 : 200,
      log: ctx.log,
    });
    const table = toySelfTable(results);
    ctx.log(`goals:\n${goalsMarkdown(selfGoals({ results: results.map((r) => ({ seed: r.seed, rounds: r.rounds })) }))}`);
    if (!quick) {
      const changed = await weightsChangedSince(modelDir, weights);
      const settings = { train: toySelfTrainConfig(TOY_SELF_TRAIN, 0), batchSize: TOY_SELF_DEFAULTS.batchSize, shapes: TOY_SELF_DEFAULTS.shapes, metaMix: TOY_SELF_DEFAULTS.metaMix };
      const file = join(modelDir, 'self_eval.json');
      if (changed) ctx.log(changed);
      else {
        writeFileSync(file, `${JSON.stringify(toySelfRecord('npm run bench -- --only toy-self', settings, results, weights), null, 1)}\n`);
        ctx.log(`wrote ${file}`);
      }
    }
    return table.rows.map((r) => ({
      backend: backend.name,
      metric: r.label,
      value: r.stat.mean,
      unit: r.key.startsWith('seconds') ? 's' : r.key.startsWith('kept') ? 'rows' : r.key.startsWith('gain') ? 'points' : '%',
      note: `mean of seeds ${table.seeds.join(',')}; std ${r.stat.std.toFixed(1)}, min ${r.stat.min.toFixed(1)}, max ${r.stat.max.toFixed(1)}; per seed ${r.stat.values.map((v) => v.toFixed(1)).join(' / ')}`,
    }));
  },
};

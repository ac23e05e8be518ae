/**
 * Node side of the toy SELF experiment: the in-process tfjs engine and trainer (src/core/engine/tfjs,
 * wasm) on a model folder, `runToySelf` for each seed from the base model, adapters dropped between seeds.
 * Used by src/cli/toy-self.ts and the `toy-self` bench suite.
 */
import { createNodeTfjs } from '../core/engine/tfjs/node-local.ts';
import { TOY_SELF_TRAIN, toySelfTrainConfig, type ToySelfTrainKnobs } from '../core/toy/self-train.ts';
import { runToySelf, TOY_SELF_DEFAULTS, type ToySelfResult } from '../core/toy/self-experiment.ts';
import type { TrainRequest } from '../core/train/trainer.ts';
import type { StepRecord } from '../core/refine/types.ts';

/**
 * The seeds `npm run bench` reports (toy-self, toy-srt). Never used to choose a setting: the settings were
 * tuned on seeds 101 and 102 (toy-diagnose.ts).
 */
export const TOY_BENCH_SEEDS = [21, 22, 23] as const;

export interface ToySelfRunOptions {
  modelDir: string;
  seeds: readonly number[];
  rounds: number;
  perRound?: number;
  evalCount?: number;
  batchSize?: number;
  train?: ToySelfTrainKnobs;
  metaMix?: { feedback: number; refine: number };
  /** Annotator items the critic is tried on before each round (runToySelf's criticPool). */
  criticPool?: number;
  shapes?: readonly ('sft' | 'step-chats')[];
  log?: (line: string) => void;
  /** Every stored step of a seed's run (to inspect the loops). */
  onStep?: (seed: number, step: StepRecord) => void;
  /** Every training request (to inspect the rows a round trains on). */
  onTrain?: (seed: number, request: TrainRequest) => void;
}

export async function runToySelfSeeds(o: ToySelfRunOptions): Promise<ToySelfResult[]> {
  const log = o.log ?? (() => {});
  const knobs = o.train ?? TOY_SELF_TRAIN;
  const made: string[] = [];
  let n = 0;
  const { engine, trainer } = createNodeTfjs({
    modelDir: o.modelDir,
    backend: 'wasm',
    trainer: { newAdapterId: ({ label }) => `toy-self-${++n}-${label.replace(/\W+/g, '-')}` },
  });
  await engine.load('toy-arith');
  const results: ToySelfResult[] = [];
  try {
    for (const seed of o.seeds) {
      let last = '';
      const res = await runToySelf({
        engine,
        trainer: {
          train: async (request) => {
            o.onTrain?.(seed, request);
            const out = await trainer.train(request);
            made.push(out.adapterId);
            return out;
          },
        },
        trainConfig: toySelfTrainConfig(knobs, seed),
        seed,
        rounds: o.rounds,
        perRound: o.perRound,
        metaMix: o.metaMix,
        criticPool: o.criticPool,
        shapes: o.shapes,
        evalCount: o.evalCount,
        batchSize: o.batchSize ?? TOY_SELF_DEFAULTS.batchSize,
        onStep: o.onStep && ((s) => o.onStep!(seed, s)),
        onRound: (r) => {
          const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
          log(`seed ${seed} round ${r.round}: direct ${pct(r.direct)}, refined ${pct(r.refined)}, verdict ${pct(r.verdict)} (caught ${pct(r.caught)}, false alarms ${pct(r.falseAlarm)}; critic probe: caught ${pct(r.probeCaught ?? NaN)}, false alarms ${pct(r.probeFalseAlarm ?? NaN)})${r.collect ? `, kept ${r.collect.rows} rows` : ''}${r.criticPool ? `, critic pool: missed ${r.criticPool.missed} of ${r.criticPool.wrong} wrong, ${r.criticPool.falseAlarms} false alarms of ${r.criticPool.right} right → ${r.criticPool.rows} rows in ${r.criticPool.seconds.toFixed(0)} s` : ''}, ${r.seconds.total.toFixed(0)} s`);
        },
        onProgress: (p) => {
          const line = `seed ${seed} round ${p.round} ${p.phase}`;
          if (line !== last) log(`${line}: ${p.message}`);
          last = line;
        },
      });
      results.push(res);
      while (made.length > 0) await engine.removeAdapter(made.pop()!);
    }
  } finally {
    await engine.unload();
  }
  return results;
}

/**
 * Node side of the toy SRT experiment: the in-process tfjs engine and trainer (wasm) on a model folder as the
 * actor, the reference critic (the program annotator, src/core/toy/reference-critic.ts) as the critic,
 * `runToySrt` for each seed from the base model, adapters dropped between seeds. Used by src/cli/toy-srt.ts
 * and the `toy-srt` bench suite.
 */
import { createNodeTfjs } from '../core/engine/tfjs/node-local.ts';
import { ReferenceCritic, REFERENCE_CRITIC_ID } from '../core/toy/reference-critic.ts';
import { TOY_SELF_TRAIN, toySelfTrainConfig, toySrtDpoConfig } from '../core/toy/self-train.ts';
import { runToySrt, type ToySrtResult, type ToySrtVariant } from '../core/toy/srt-experiment.ts';
import { TOY_SELF_DEFAULTS } from '../core/toy/self-experiment.ts';

export interface ToySrtRunOptions {
  modelDir: string;
  seeds: readonly number[];
  rounds?: number;
  perRound?: number;
  evalCount?: number;
  variants?: readonly ToySrtVariant[];
  log?: (line: string) => void;
}

export async function runToySrtSeeds(o: ToySrtRunOptions): Promise<ToySrtResult[]> {
  const log = o.log ?? (() => {});
  const made: string[] = [];
  let n = 0;
  const { engine, trainer } = createNodeTfjs({
    modelDir: o.modelDir,
    backend: 'wasm',
    trainer: { newAdapterId: ({ label }) => `toy-srt-${++n}-${label.replace(/\W+/g, '-')}` },
  });
  const critic = new ReferenceCritic();
  await Promise.all([engine.load('toy-arith'), critic.load(REFERENCE_CRITIC_ID)]);
  const results: ToySrtResult[] = [];
  try {
    for (const seed of o.seeds) {
      let last = '';
      const res = await runToySrt({
        actor: engine,
        critic,
        trainer: {
          train: async (request) => {
            const out = await trainer.train(request);
            made.push(out.adapterId);
            return out;
          },
        },
        sftConfig: toySelfTrainConfig(TOY_SELF_TRAIN, seed),
        dpoConfig: toySrtDpoConfig(TOY_SELF_TRAIN, seed),
        seed,
        rounds: o.rounds,
        perRound: o.perRound,
        evalCount: o.evalCount,
        variants: o.variants,
        batchSize: TOY_SELF_DEFAULTS.batchSize,
        onProgress: (m) => {
          const head = m.replace(/\d+ of \d+.*/, '');
          // Every DPO step is logged: its margin and log-probabilities show whether DPO is doing what it should.
          if (head !== last || / DPO step [1-9]/.test(m)) log(m);
          last = head;
        },
      });
      const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
      const line = (label: string, s: ToySrtResult['base']) => log(`seed ${seed} ${label}: direct ${pct(s.direct)}, refined ${pct(s.refined)}, caught ${pct(s.caught)}, false alarms ${pct(s.falseAlarm)}`);
      line('base', res.base);
      for (const r of res.runs) {
        line(`${r.variant} SFT`, r.sft);
        line(`${r.variant} SFT+DPO`, r.dpo);
        log(`seed ${seed} ${r.variant}: ${r.kept} of ${r.loops} loops kept, ${r.sftRows} SFT rows, ${r.preferencePairs} pairs, ${r.seconds.toFixed(0)} s`);
      }
      results.push(res);
      while (made.length > 0) await engine.removeAdapter(made.pop()!);
    }
  } finally {
    await engine.unload();
  }
  return results;
}

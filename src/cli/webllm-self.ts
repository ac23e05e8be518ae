/**
 * `npx tsx src/cli/webllm-self.ts [--model DIR] [--quantization q0f32,q4f32_1] [--seed 1] [--rounds 2]
 *  [--per-round 200] [--eval 200] [--json FILE]`
 *
 * SELF on a web-llm actor, in Node: the toy model exported to MLC in each quantization and put where web-llm
 * caches a download (an in-memory Cache API), then toy SELF rounds on src/core/engine/evolving-actor.ts —
 * training on tfjs from those MLC files, each round's adapter merged into new MLC files and registered as an
 * evolved model, the next round generating on it. WEB-LLM'S WEBGPU COMPUTE IS STOOD IN by our tfjs runtime
 * on the same files (src/cli/webllm-node.ts): no web-llm model library runs here. Prints per round the model
 * that generated, how much of the adapter the merge kept, and held-out accuracy before → after.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AppError } from '../core/errors.ts';
import { TfjsTrainer } from '../core/engine/tfjs/trainer.ts';
import { nodeDirSource } from '../core/io/node-dir.ts';
import { exportMlc, hfModelOf } from '../core/mlc/export.ts';
import { isMlcQuantization, type MlcQuantization } from '../core/mlc/types.ts';
import { loadModel } from '../core/model/load.ts';
import { TOY_SELF_TRAIN, toySelfTrainConfig } from '../core/toy/self-train.ts';
import { runToySelf, TOY_SELF_DEFAULTS } from '../core/toy/self-experiment.ts';
import { parseFlags, runScript, usageOf, type FlagSpecs } from './args.ts';
import { cacheAsWebLlm, MemoryCacheStorage, nodeWebLlmActor } from './webllm-node.ts';

const FLAGS = {
  model: { kind: 'string', value: 'DIR', help: 'HF model folder to export (default public/models/toy-arith)' },
  quantization: { kind: 'string', value: 'LIST', help: 'MLC quantizations, e.g. q0f32,q4f32_1 (default both)' },
  seed: { kind: 'int', value: 'N', help: 'question seed (default 1)' },
  rounds: { kind: 'int', value: 'N', help: 'SELF rounds (default 2)' },
  'per-round': { kind: 'int', value: 'N', help: `unlabeled questions per round (default ${TOY_SELF_DEFAULTS.perRound})` },
  eval: { kind: 'int', value: 'N', help: `held-out questions (default ${TOY_SELF_DEFAULTS.evalCount})` },
  json: { kind: 'string', value: 'FILE', help: 'write every number here' },
} satisfies FlagSpecs;

const INVOCATION = 'npx tsx src/cli/webllm-self.ts';

export interface WebLlmSelfRow {
  quantization: MlcQuantization;
  round: number;
  /** The web-llm id that generated this round's evaluation. */
  model: string;
  exact: boolean | null;
  weightKept: number | null;
  logitsKept: number | null;
  direct: number;
  refined: number;
  trainRows: number | null;
  seconds: number;
}

async function main(argv: string[]): Promise<void> {
  const f = parseFlags(INVOCATION, argv, FLAGS);
  const dir = resolve(f.model ?? join(process.cwd(), 'public', 'models', 'toy-arith'));
  const qs = (f.quantization ?? 'q0f32,q4f32_1').split(',').map((x) => x.trim());
  for (const q of qs) if (!isMlcQuantization(q)) throw new AppError('bad-input', `--quantization: "${q}" is not one of q0f32, q0f16, q4f16_1, q4f32_1.`);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const source = await nodeDirSource(dir);
  const hf = await loadModel(source);
  const rows: WebLlmSelfRow[] = [];
  try {
    for (const q of qs as MlcQuantization[]) {
      const webllmId = `toy-arith-${q}-MLC`;
      const model = `https://huggingface.co/mlc-ai/${webllmId}`;
      const caches = new MemoryCacheStorage();
      await cacheAsWebLlm(caches, model, await exportMlc(await hfModelOf(hf, source), q));
      const { actor } = await nodeWebLlmActor({ caches, base: { webllmId, quantization: q, modelLib: `https://example.org/libs/${webllmId}-webgpu.wasm` }, model, measureRetention: true });
      let n = 0;
      const trainer = new TfjsTrainer(actor, { newAdapterId: ({ label }) => `${q}-${++n}-${label.replace(/\W+/g, '-')}` });
      let last = '';
      const res = await runToySelf({
        engine: actor,
        trainer,
        trainConfig: toySelfTrainConfig(TOY_SELF_TRAIN, f.seed ?? 1),
        seed: f.seed ?? 1,
        rounds: f.rounds ?? 2,
        perRound: f['per-round'],
        evalCount: f.eval,
        onProgress: (p) => {
          const line = `${q} round ${p.round} ${p.phase}`;
          if (line !== last) log(`${line}: ${p.message}`);
          last = line;
        },
      });
      for (const r of res.rounds) {
        const use = await actor.modelFor(r.adapterId);
        rows.push({
          quantization: q,
          round: r.round,
          model: use.modelId,
          exact: use.report?.exact ?? null,
          weightKept: use.report?.weightKept ?? null,
          logitsKept: use.report?.logitsKept ?? null,
          direct: r.direct,
          refined: r.refined,
          trainRows: r.train?.rows ?? null,
          seconds: r.seconds.total,
        });
      }
      await actor.unload();
    }
  } finally {
    hf.dispose();
  }
  const pct = (x: number) => `${(100 * x).toFixed(1)}`;
  const num = (x: number | null) => (x === null ? '—' : x.toFixed(3));
  const lines = [
    '| quantization | round | model that generated | logits kept | weights kept | direct % | self-refined % | training rows | seconds |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.quantization} | ${r.round === 0 ? '0 (before)' : r.round} | ${r.model} | ${num(r.logitsKept)} | ${num(r.weightKept)} | ${pct(r.direct)} | ${pct(r.refined)} | ${r.trainRows ?? '—'} | ${r.seconds.toFixed(0)} |`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (f.json) writeFileSync(f.json, `${JSON.stringify({ model: dir, seed: f.seed ?? 1, rows }, null, 1)}\n`);
}

runScript('webllm-self', () => usageOf(INVOCATION, FLAGS), main);

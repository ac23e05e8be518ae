/**
 * `npx tsx src/cli/toy-self.ts [--model DIR] [--seeds 1,2,3] [--rounds 2] [--json FILE] [--write]`
 *
 * SELF rounds on the toy model in Node with the in-process tfjs engine and trainer (wasm): per seed, the base
 * model is evaluated, then each round answers new unlabeled questions, critiques and refines them itself,
 * keeps what its own feedback calls correct, trains a LoRA adapter on it and is evaluated again on the
 * held-out questions. Prints the table over seeds (mean ± spread). --write stores it in the model folder as
 * self_eval.json (what the app shows); --json writes every number.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AppError } from '../core/errors.ts';
import { parseIdList, parseFlags, runScript, usageOf, type FlagSpecs } from './args.ts';
import { runToySelfSeeds } from './toy-self-run.ts';
import { TOY_SELF_TRAIN, toySelfTrainConfig } from '../core/toy/self-train.ts';
import { formatToySelfTable, toySelfRecord, toySelfTable } from '../core/toy/self-summary.ts';
import { folderWeights, weightsChangedSince } from './toy-weights.ts';
import { TOY_SELF_DEFAULTS } from '../core/toy/self-experiment.ts';

const FLAGS = {
  model: { kind: 'string', value: 'DIR', help: 'model folder (default public/models/toy-arith)' },
  seeds: { kind: 'string', value: 'LIST', help: 'question seeds, e.g. 1,2,3 (default 1,2,3)' },
  rounds: { kind: 'int', value: 'N', help: 'SELF rounds per seed (default 2)' },
  lr: { kind: 'number', value: 'X', help: `LoRA learning rate (default ${TOY_SELF_TRAIN.lr})` },
  epochs: { kind: 'number', value: 'N', help: `epochs per round (default ${TOY_SELF_TRAIN.epochs})` },
  rank: { kind: 'int', value: 'R', help: `LoRA rank (default ${TOY_SELF_TRAIN.rank}; alpha = 2·rank)` },
  ungrouped: { kind: 'boolean', help: 'train on random batches padded to their longest row (default: rows batched by length)' },
  batch: { kind: 'int', value: 'N', help: 'rows per batched generation call (default 100)' },
  'per-round': { kind: 'int', value: 'N', help: 'unlabeled questions per round (default 200)' },
  eval: { kind: 'int', value: 'N', help: 'held-out questions (default 200)' },
  'critic-pool': { kind: 'int', value: 'N', help: 'before each round, try the critic on N annotator items and train on those it gets wrong (default 0 = off)' },
  mix: { kind: 'string', value: 'F,R', help: 'annotator meta-skill chats mixed into each round: feedback,refine (default 200,50; 0,0 = none)' },
  shapes: { kind: 'string', value: 'LIST', help: 'rows trained per round: sft, or sft,step-chats (default; adds its own feedback and refinement calls)' },
  json: { kind: 'string', value: 'FILE', help: 'write every number here' },
  write: { kind: 'boolean', help: 'store the table as self_eval.json in the model folder' },
} satisfies FlagSpecs;

const INVOCATION = 'npx tsx src/cli/toy-self.ts';

function parseShapes(text: string): ('sft' | 'step-chats')[] {
  const list = text.split(',').map((x) => x.trim());
  if (list.length === 0 || !list.every((x) => x === 'sft' || x === 'step-chats')) throw new AppError('bad-input', `--shapes takes sft and/or step-chats, comma-separated (got "${text}").`);
  return list as ('sft' | 'step-chats')[];
}

async function main(argv: string[]): Promise<void> {
  const f = parseFlags(INVOCATION, argv, FLAGS);
  const dir = resolve(f.model ?? join(process.cwd(), 'public', 'models', 'toy-arith'));
  const seeds = f.seeds ? parseIdList(f.seeds, '--seeds') : [1, 2, 3];
  const train = { lr: f.lr ?? TOY_SELF_TRAIN.lr, epochs: f.epochs ?? TOY_SELF_TRAIN.epochs, rank: f.rank ?? TOY_SELF_TRAIN.rank, groupByLength: f.ungrouped !== true };
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const mixList = f.mix ? parseIdList(f.mix, '--mix') : null;
  if (mixList && mixList.length !== 2) throw new AppError('bad-input', '--mix takes two numbers: feedback,refine (e.g. 200,50).');
  const metaMix = mixList ? { feedback: mixList[0], refine: mixList[1] } : undefined;
  const shapes = f.shapes ? parseShapes(f.shapes) : undefined;
  const weights = await folderWeights(dir);
  const results = await runToySelfSeeds({ modelDir: dir, seeds, rounds: f.rounds ?? 2, perRound: f['per-round'], evalCount: f.eval, batchSize: f.batch, train, metaMix, criticPool: f['critic-pool'], shapes, log });
  const table = toySelfTable(results);
  process.stdout.write(`${formatToySelfTable(table)}\n`);
  const settings = { train: toySelfTrainConfig(train, 0), batchSize: f.batch ?? 100, shapes: shapes ?? TOY_SELF_DEFAULTS.shapes, metaMix: metaMix ?? TOY_SELF_DEFAULTS.metaMix };
  if (f.json) writeFileSync(f.json, `${JSON.stringify({ model: dir, settings, results, table }, null, 1)}\n`);
  if (f.write) {
    const changed = await weightsChangedSince(dir, weights);
    if (changed) throw new AppError('bad-input', changed);
    const file = join(dir, 'self_eval.json');
    writeFileSync(file, `${JSON.stringify(toySelfRecord(`npx tsx src/cli/toy-self.ts ${argv.join(' ')}`.trim(), settings, results, weights), null, 1)}\n`);
    log(`wrote ${file}`);
  }
}

runScript('toy-self', () => usageOf(INVOCATION, FLAGS), main);

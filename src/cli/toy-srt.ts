/**
 * `npx tsx src/cli/toy-srt.ts [--model DIR] [--seeds 21,22,23] [--rounds 3] [--variants feedback,refine-only] [--json FILE] [--write]`
 *
 * SRT on the toy model in Node (srt-experiment.ts), with the reference critic (the program annotator): per seed,
 * the base model, then SFT and SFT + DPO for each variant, all evaluated on the held-out questions of that
 * seed (the same ones the SELF experiment uses). Prints the comparison rows; --write stores srt_eval.json in the
 * model folder (what the README's table and the app's Evaluation tab read), --json writes every number.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AppError } from '../core/errors.ts';
import { comparisonMarkdown, toyComparison, toySrtRecord } from '../core/toy/comparison.ts';
import { TOY_SRT_VARIANTS, type ToySrtVariant } from '../core/toy/srt-experiment.ts';
import { parseIdList, parseFlags, runScript, usageOf, type FlagSpecs } from './args.ts';
import { TOY_BENCH_SEEDS } from './toy-self-run.ts';
import { runToySrtSeeds } from './toy-srt-run.ts';
import { folderWeights, weightsChangedSince } from './toy-weights.ts';

const FLAGS = {
  model: { kind: 'string', value: 'DIR', help: 'model folder (default public/models/toy-arith)' },
  seeds: { kind: 'string', value: 'LIST', help: `question seeds (default ${TOY_BENCH_SEEDS.join(',')})` },
  rounds: { kind: 'int', value: 'N', help: 'unlabeled questions of SELF rounds 1..N are reviewed (default 3)' },
  'per-round': { kind: 'int', value: 'N', help: 'unlabeled questions per round (default 200)' },
  eval: { kind: 'int', value: 'N', help: 'held-out questions (default 200)' },
  variants: { kind: 'string', value: 'LIST', help: `SFT variants (default ${TOY_SRT_VARIANTS.join(',')})` },
  json: { kind: 'string', value: 'FILE', help: 'write every number here' },
  write: { kind: 'boolean', help: 'store the results as srt_eval.json in the model folder' },
} satisfies FlagSpecs;

const INVOCATION = 'npx tsx src/cli/toy-srt.ts';

async function main(argv: string[]): Promise<void> {
  const f = parseFlags(INVOCATION, argv, FLAGS);
  const dir = resolve(f.model ?? join(process.cwd(), 'public', 'models', 'toy-arith'));
  const seeds = f.seeds ? parseIdList(f.seeds, '--seeds') : [...TOY_BENCH_SEEDS];
  const variants = f.variants ? f.variants.split(',').map((v) => v.trim()) : [...TOY_SRT_VARIANTS];
  if (!variants.every((v): v is ToySrtVariant => (TOY_SRT_VARIANTS as readonly string[]).includes(v))) {
    throw new AppError('bad-input', `--variants takes ${TOY_SRT_VARIANTS.join(' and/or ')} (got "${f.variants}").`);
  }
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const weights = await folderWeights(dir);
  const results = await runToySrtSeeds({ modelDir: dir, seeds, rounds: f.rounds, perRound: f['per-round'], evalCount: f.eval, variants, log });
  const record = toySrtRecord(`${INVOCATION} ${argv.join(' ')}`.trim(), { rounds: f.rounds ?? 3, perRound: f['per-round'] ?? 200, evalCount: f.eval ?? 200, variants }, results, weights);
  const base = { results: results.map((r) => ({ seed: r.seed, rounds: [r.base] })) };
  process.stdout.write(`${comparisonMarkdown(toyComparison(base, record))}\n`);
  if (f.json) writeFileSync(f.json, `${JSON.stringify(record, null, 1)}\n`);
  if (f.write) {
    const changed = await weightsChangedSince(dir, weights);
    if (changed) throw new AppError('bad-input', changed);
    const file = join(dir, 'srt_eval.json');
    writeFileSync(file, `${JSON.stringify(record, null, 1)}\n`);
    log(`wrote ${file}`);
  }
}

runScript('toy-srt', () => usageOf(INVOCATION, FLAGS), main);

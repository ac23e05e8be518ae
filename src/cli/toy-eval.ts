/**
 * `npx tsx src/cli/toy-eval.ts [--model DIR] [--seed N] [--n N] [--batch N] [--show K] [--json FILE]`
 *
 * Checks a trained toy model against the README's pass/fail criteria on held-out questions (greedy, wasm):
 * direct-answer accuracy, draft → self-feedback → self-refinement accuracy, self-feedback verdict accuracy,
 * feedback parse rate, each split by whether the drafter's habit can fire. Prints a table; --json writes the
 * report with every item.
 */
import { writeFileSync } from 'node:fs';
import { toyShapeOf } from './toy-shape.ts';
import { join, resolve } from 'node:path';
import { nodeDirSource } from '../core/io/node-dir.ts';
import { encodeChat, generateBatch } from '../core/model/generate.ts';
import { loadModel } from '../core/model/load.ts';
import { evaluateToy, type ToyAsk, type ToyScores } from '../core/toy/evaluate.ts';
import { generateToyData } from '../core/toy/index.ts';
import { parseFlags, runScript, usageOf, type FlagSpecs } from './args.ts';
import { useNodeBackend } from './node-backend.ts';

const FLAGS = {
  model: { kind: 'string', value: 'DIR', help: 'model folder (default public/models/toy-arith)' },
  seed: { kind: 'int', value: 'N', help: 'seed of the held-out questions (default 0)' },
  n: { kind: 'int', value: 'N', help: 'held-out questions (default 200)' },
  batch: { kind: 'int', value: 'N', help: 'rows decoded together (default 50)' },
  show: { kind: 'int', value: 'K', help: 'print K wrong items in full' },
  json: { kind: 'string', value: 'FILE', help: 'write the full report here' },
} satisfies FlagSpecs;

export function formatScores(label: string, s: ToyScores): string {
  const pct = (x: number) => (Number.isNaN(x) ? '   -  ' : `${(100 * x).toFixed(1).padStart(5)}%`);
  return `${label.padEnd(8)} n=${String(s.n).padStart(3)}  direct ${pct(s.direct)}  refined ${pct(s.refined)}  verdict ${pct(s.verdict)}  parse-ok ${pct(s.parseOk)}  caught ${pct(s.caught)}  fixed ${pct(s.fixed)}`;
}

const INVOCATION = 'npx tsx src/cli/toy-eval.ts';

async function main(argv: string[]): Promise<void> {
  const f = parseFlags(INVOCATION, argv, FLAGS);
  const dir = resolve(f.model ?? join(process.cwd(), 'public', 'models', 'toy-arith'));
  await useNodeBackend('wasm');
  const model = await loadModel(await nodeDirSource(dir));
  const shape = toyShapeOf(dir);
  const questions = generateToyData({ seed: f.seed ?? 0, metaCount: 0, rounds: 0, evalCount: f.n ?? 200, shape }).eval;
  const batchSize = f.batch ?? 50;
  const ask: ToyAsk = async (chats, maxTokens) => {
    const rows = chats.map((c) => ({ ids: encodeChat(model.tokenizer, c), maxTokens, temperature: 0 }));
    return (await generateBatch(model, rows, { batchSize })).map((r) => r.text);
  };
  const t0 = performance.now();
  const report = await evaluateToy(questions, ask);
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(`${dir} on ${questions.length} held-out questions (seed ${f.seed ?? 0}), ${seconds.toFixed(0)} s\n`);
  process.stdout.write(`${formatScores('all', report.all)}\n${formatScores('habit', report.habit)}\n${formatScores('other', report.other)}\n`);
  const show = f.show ?? 0;
  for (const it of report.items.filter((i) => !i.finalRight || !i.verdictMatches).slice(0, show)) {
    process.stdout.write(`\n--- ${it.question} draft ${it.draft} → ${it.final} (${it.finalRight ? 'right' : 'wrong'})\n${it.feedback}\n`);
  }
  if (f.json) writeFileSync(f.json, `${JSON.stringify({ model: dir, seed: f.seed ?? 0, seconds, ...report }, null, 1)}\n`);
  model.dispose();
}

runScript('toy-eval', () => usageOf(INVOCATION, FLAGS), main);

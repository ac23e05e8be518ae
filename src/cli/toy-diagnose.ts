/**
 * `npx tsx src/cli/toy-diagnose.ts [--model DIR] [--seeds 101,102] [--rounds 2] [--json FILE]`
 *
 * Why does a SELF round cost the toy model its feedback skill? Runs the same SELF rounds as toy-self.ts and
 * reports, per round:
 *   - what the round trains on: the rows by step (draft / feedback / refinement), how many targets are right,
 *     how many come from a refined loop and how many are drafts the model's own feedback let through;
 *   - what its own feedback does with its held-out drafts: caught / false alarms, and for each miss or false
 *     alarm what happened (diagnose.ts: misread the draft, shared the draft's error, miscomputed, …);
 *   - what kind of errors its wrong drafts make, next to the meta-skill corpus drafter's;
 *   - the BASE model's feedback on the same drafts (is it forgetting, or could the critic never check them?).
 * `--critic N` instead only tests the base model as a critic: its feedback on N varied drafts of held-out
 * questions (review-drafter.ts), by error class; `--drafts FILE` on the drafts a earlier --json run stored.
 * The checker is used here only to score; the rounds themselves use no labels.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { nodeDirSource } from '../core/io/node-dir.ts';
import { encodeChat, generateBatch } from '../core/model/generate.ts';
import { loadModel } from '../core/model/load.ts';
import type { TrainRequest } from '../core/train/trainer.ts';
import type { StepRecord } from '../core/refine/types.ts';
import { draftErrorClass, feedbackFinding, tally } from '../core/toy/diagnose.ts';
import { checkToyAnswer, generateToyData, parseToyQuestion, parseToyFeedback, reviewDraft, sloppyDraft, ToyRng, toyPrompts, TOY_CHECK, TOY_FIX } from '../core/toy/index.ts';
import { TOY_MAX_TOKENS } from '../core/toy/evaluate.ts';
import { parseIdList, parseFlags, runScript, usageOf, type FlagSpecs } from './args.ts';
import { useNodeBackend } from './node-backend.ts';
import { runToySelfSeeds } from './toy-self-run.ts';

const FLAGS = {
  model: { kind: 'string', value: 'DIR', help: 'model folder (default public/models/toy-arith)' },
  seeds: { kind: 'string', value: 'LIST', help: 'question seeds (default 101,102)' },
  rounds: { kind: 'int', value: 'N', help: 'SELF rounds per seed (default 2)' },
  json: { kind: 'string', value: 'FILE', help: 'write every number and item here' },
  critic: { kind: 'int', value: 'N', help: 'only test the base critic on N varied held-out drafts (no rounds)' },
  drafts: { kind: 'string', value: 'FILE', help: 'only test the base critic on the drafts of an earlier --json file (no rounds)' },
} satisfies FlagSpecs;

const INVOCATION = 'npx tsx src/cli/toy-diagnose.ts';

interface Loop {
  question: string;
  draft?: string;
  feedback?: string;
  refinement?: string;
  refinedFeedback?: string;
}

function loopsOf(steps: readonly StepRecord[], prefix: string): Loop[] {
  const by = new Map<string, Loop>();
  for (const s of steps) {
    if (!s.loopId.startsWith(prefix)) continue;
    const l = by.get(s.loopId) ?? { question: s.taskId.replace(/^toy:/, '') };
    if (s.kind === 'draft') l.draft = s.text;
    if (s.kind === 'feedback' && s.refineRound === 0) l.feedback = s.text;
    if (s.kind === 'refinement' && s.refineRound === 1) l.refinement = s.text;
    if (s.kind === 'feedback' && s.refineRound === 1) l.refinedFeedback = s.text;
    by.set(s.loopId, l);
  }
  return [...by.values()].filter((l) => l.draft !== undefined);
}

/** Which step a training row teaches, from its prompt. */
function rowStep(row: TrainRequest['rows'][number]): string {
  if (!('messages' in row)) return 'chosen' in row ? 'preference' : 'prompt-completion';
  const user = row.messages.find((m) => m.role === 'user')?.content ?? '';
  return user.endsWith(TOY_FIX) ? 'refinement' : user.endsWith(TOY_CHECK) ? 'feedback' : 'draft';
}

const verdictOf = (fb: string | undefined) => (fb === undefined ? 'unknown' : (parseToyFeedback(fb).feedback?.verdict ?? 'unknown'));
const pct = (x: number, n: number) => (n === 0 ? '-' : `${((100 * x) / n).toFixed(1)}%`);

function feedbackReport(items: { question: string; draft: string; feedback: string }[]) {
  const wrong = items.filter((i) => !checkToyAnswer(i.question, i.draft));
  const right = items.filter((i) => checkToyAnswer(i.question, i.draft));
  const find = (i: (typeof items)[number]) => feedbackFinding(parseToyQuestion(i.question), i.draft, i.feedback);
  const wrongFindings = tally(wrong.map(find));
  const rightFindings = tally(right.map(find));
  return {
    wrong: wrong.length,
    right: right.length,
    caught: wrongFindings.caught ?? 0,
    alarms: right.length - (rightFindings.quiet ?? 0),
    missedAs: Object.fromEntries(Object.entries(wrongFindings).filter(([k]) => k !== 'caught')),
    alarmsAs: Object.fromEntries(Object.entries(rightFindings).filter(([k]) => k !== 'quiet')),
  };
}

/** The base model's feedback on a fixed set of drafts: caught / false alarms, overall and by error class. */
async function criticOnly(dir: string, items: { question: string; draft: string }[], print: (line: string) => void) {
  await useNodeBackend('wasm');
  const base = await loadModel(await nodeDirSource(dir));
  const rows = items.map((i) => ({ ids: encodeChat(base.tokenizer, toyPrompts.feedback(i.question, i.draft)), maxTokens: TOY_MAX_TOKENS.feedback, temperature: 0 }));
  const fb = (await generateBatch(base, rows, { batchSize: 100 })).map((r) => r.text);
  base.dispose();
  const judged = items.map((i, k) => ({ ...i, feedback: fb[k], kind: draftErrorClass(parseToyQuestion(i.question), i.draft) ?? 'right' }));
  const all = feedbackReport(judged);
  print(`${dir}: ${items.length} drafts; caught ${all.caught}/${all.wrong} (${pct(all.caught, all.wrong)}), false alarms ${all.alarms}/${all.right} (${pct(all.alarms, all.right)})`);
  print(`  misses: ${JSON.stringify(all.missedAs)}; false alarms: ${JSON.stringify(all.alarmsAs)}`);
  const byKind: Record<string, unknown> = {};
  for (const kind of [...new Set(judged.map((j) => j.kind))].sort()) {
    const r = feedbackReport(judged.filter((j) => j.kind === kind));
    byKind[kind] = r;
    print(`  ${kind.padEnd(12)} n=${String(r.wrong + r.right).padStart(4)}  ${kind === 'right' ? `false alarms ${pct(r.alarms, r.right)}` : `caught ${pct(r.caught, r.wrong)}  misses ${JSON.stringify(r.missedAs)}`}`);
  }
  return { all, byKind, items: judged };
}

async function main(argv: string[]): Promise<void> {
  const f = parseFlags(INVOCATION, argv, FLAGS);
  const dir = resolve(f.model ?? join(process.cwd(), 'public', 'models', 'toy-arith'));
  const seeds = f.seeds ? parseIdList(f.seeds, '--seeds') : [101, 102];
  const print0 = (line: string) => process.stdout.write(`${line}\n`);
  if (f.critic !== undefined || f.drafts !== undefined) {
    let items: { question: string; draft: string }[];
    if (f.drafts !== undefined) {
      const stored = JSON.parse(readFileSync(f.drafts, 'utf8')) as { rows: { round: number; items: { question: string; draft: string }[] }[] };
      items = stored.rows.filter((r) => r.round >= 1).flatMap((r) => r.items.map(({ question, draft }) => ({ question, draft })));
    } else {
      const questions = generateToyData({ seed: seeds[0], metaCount: 0, rounds: 0, evalCount: f.critic! }).eval;
      const rng = new ToyRng(seeds[0], 'critic-test');
      items = questions.map((q) => ({ question: q.text, draft: reviewDraft(q, sloppyDraft(q, rng), rng).text }));
    }
    const report = await criticOnly(dir, items, print0);
    if (f.json) writeFileSync(f.json, `${JSON.stringify({ model: dir, ...report }, null, 1)}\n`);
    return;
  }
  const rounds = f.rounds ?? 2;
  const steps = new Map<number, StepRecord[]>();
  const trains = new Map<number, TrainRequest[]>();
  const log = (line: string) => process.stderr.write(`${line}\n`);
  await runToySelfSeeds({
    modelDir: dir,
    seeds,
    rounds,
    log,
    onStep: (seed, s) => void (steps.get(seed) ?? steps.set(seed, []).get(seed)!).push(s),
    onTrain: (seed, r) => void (trains.get(seed) ?? trains.set(seed, []).get(seed)!).push(r),
  });

  // The base model as a critic of every round's drafts.
  const base = await loadModel(await nodeDirSource(dir));
  const baseFeedback = async (items: { question: string; draft: string }[]) => {
    const rows = items.map((i) => ({ ids: encodeChat(base.tokenizer, toyPrompts.feedback(i.question, i.draft)), maxTokens: TOY_MAX_TOKENS.feedback, temperature: 0 }));
    return (await generateBatch(base, rows, { batchSize: 100 })).map((r) => r.text);
  };

  const out: Record<string, unknown>[] = [];
  const print = (line: string) => process.stdout.write(`${line}\n`);
  // The corpus drafter's wrong drafts, classified the same way.
  const corpus = generateToyData({ seed: 0, metaCount: 4000, rounds: 0, evalCount: 0 }).meta;
  const corpusWrong = corpus.filter((m) => m.draft.error !== null);
  const corpusKinds = tally(corpusWrong.map((m) => draftErrorClass(m.question, m.draft.text) ?? 'right'));
  print(`corpus drafter (seed 0, 4000 items): ${corpusWrong.length} wrong drafts, kinds ${JSON.stringify(corpusKinds)}`);
  for (const seed of seeds) {
    const all = steps.get(seed) ?? [];
    for (let r = 0; r <= rounds; r++) {
      const run = `toy-self/seed-${seed}/round-${Math.max(1, r)}`;
      const evalLoops = loopsOf(all, `${run}/r${r === 0 ? 0 : 1}/eval-refine/`);
      const items = evalLoops.map((l) => ({ question: l.question, draft: l.draft!, feedback: l.feedback ?? '' }));
      const own = feedbackReport(items);
      const wrongDrafts = items.filter((i) => !checkToyAnswer(i.question, i.draft));
      const kinds = tally(wrongDrafts.map((i) => draftErrorClass(parseToyQuestion(i.question), i.draft) ?? 'right'));
      const baseFb = r === 0 ? null : feedbackReport((await baseFeedback(items)).map((fb, k) => ({ ...items[k], feedback: fb })));
      const row: Record<string, unknown> = { seed, round: r, own, wrongDraftKinds: kinds, baseCritic: baseFb };
      print(`\nseed ${seed}, after round ${r}: ${items.length} held-out drafts, ${own.wrong} wrong`);
      print(`  wrong-draft kinds: ${JSON.stringify(kinds)}`);
      print(`  own feedback: caught ${own.caught}/${own.wrong} (${pct(own.caught, own.wrong)}), false alarms ${own.alarms}/${own.right} (${pct(own.alarms, own.right)})`);
      print(`    misses: ${JSON.stringify(own.missedAs)}; false alarms: ${JSON.stringify(own.alarmsAs)}`);
      if (baseFb) {
        print(`  base model's feedback on the same drafts: caught ${baseFb.caught}/${baseFb.wrong} (${pct(baseFb.caught, baseFb.wrong)}), false alarms ${baseFb.alarms}/${baseFb.right} (${pct(baseFb.alarms, baseFb.right)})`);
        print(`    misses: ${JSON.stringify(baseFb.missedAs)}; false alarms: ${JSON.stringify(baseFb.alarmsAs)}`);
      }
      if (r >= 1) {
        const req = trains.get(seed)?.[r - 1];
        const collect = loopsOf(all, `${run}/r1/collect/`);
        const byQ = new Map(collect.map((l) => [l.question, l]));
        const rows = req?.rows ?? [];
        const stepsTaught = tally(rows.map(rowStep));
        let rightTargets = 0;
        let fromRefined = 0;
        let passedDrafts = 0;
        let passedWrong = 0;
        for (const row of rows) {
          if (!('messages' in row) || rowStep(row) !== 'draft') continue;
          const q = row.messages[0].content;
          const target = row.messages[row.messages.length - 1].content;
          if (checkToyAnswer(q, target)) rightTargets++;
          const l = byQ.get(q);
          if (l?.refinement !== undefined) fromRefined++;
          else {
            passedDrafts++;
            if (!checkToyAnswer(q, target)) passedWrong++;
          }
        }
        const collected = collect.length;
        const draftsWrong = collect.filter((l) => !checkToyAnswer(l.question, l.draft!)).length;
        const calledWrong = collect.filter((l) => verdictOf(l.feedback) === 'incorrect').length;
        row.train = { rows: rows.length, steps: stepsTaught, rightTargets, fromRefined, passedDrafts, passedWrong, collected, draftsWrong, calledWrong };
        print(`  round ${r} trained on ${rows.length} rows ${JSON.stringify(stepsTaught)}: ${rightTargets} right targets; ${fromRefined} from refined loops, ${passedDrafts} drafts its feedback passed (${passedWrong} of them wrong)`);
        print(`    collect: ${collected} loops, ${draftsWrong} wrong drafts, ${calledWrong} called wrong by its own feedback`);
      }
      row.items = items;
      out.push(row);
    }
  }
  base.dispose();
  if (f.json) writeFileSync(f.json, `${JSON.stringify({ model: dir, seeds, rounds, corpusKinds, rows: out }, null, 1)}\n`);
}

runScript('toy-diagnose', () => usageOf(INVOCATION, FLAGS), main);

/**
 * Toy world CLI.
 *   npx tsx tests/scripts/toy-data.ts tokenizer          write public/models/toy-arith/{tokenizer.json,tokenizer_config.json,generation_config.json}
 *   npx tsx tests/scripts/toy-data.ts samples [seed] [n]  print n meta-skill conversations and a few eval questions
 *   npx tsx tests/scripts/toy-data.ts stats [seed]        corpus statistics: token lengths, error mix, split sizes, FLOPs
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '@huggingface/tokenizers';
import {
  PROPOSED_TOY_SHAPE,
  buildToyTokenizerFiles,
  checkToyAnswer,
  generateToyData,
  habitApplies,
  llamaParamCount,
  renderToyChat,
  toyJsonText,
  toyPrompts,
  toyTrainingChats,
  trainingFlops,
} from '../../src/core/toy/index.ts';
import { draftErrorClass, tally } from '../../src/core/toy/diagnose.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const modelDir = join(root, 'public', 'models', 'toy-arith');

function writeTokenizer(): void {
  const files = buildToyTokenizerFiles();
  mkdirSync(modelDir, { recursive: true });
  writeFileSync(join(modelDir, 'tokenizer.json'), toyJsonText(files.tokenizer));
  writeFileSync(join(modelDir, 'tokenizer_config.json'), toyJsonText(files.tokenizerConfig));
  writeFileSync(join(modelDir, 'generation_config.json'), toyJsonText(files.generationConfig));
  const vocab = (files.tokenizer.model as { vocab: Record<string, number> }).vocab;
  console.log(`wrote ${modelDir} (vocabulary ${Object.keys(vocab).length} tokens)`);
}

function loadTokenizer(): Tokenizer {
  const tj = JSON.parse(readFileSync(join(modelDir, 'tokenizer.json'), 'utf8')) as object;
  const tc = JSON.parse(readFileSync(join(modelDir, 'tokenizer_config.json'), 'utf8')) as object;
  return new Tokenizer(tj, tc);
}

function samples(seed: number, n: number): void {
  const data = generateToyData({ seed, metaCount: n, rounds: 1, perRound: 3, evalCount: 3 });
  for (const ex of data.meta) {
    console.log(`--- ${ex.question.text}  draft ${ex.draft.text}  error ${ex.draft.error ?? 'none'}${ex.draft.habit ? ' (habit)' : ''}`);
    for (const chat of [ex.chats.draft, ex.chats.feedback, ex.chats.refine]) if (chat) console.log(renderToyChat(chat, false));
  }
  console.log('eval:', data.eval.map((q) => q.text).join(' | '));
  console.log('round 1:', data.rounds[0].map((q) => q.text).join(' | '));
}

function stats(seed: number): void {
  const tok = loadTokenizer();
  const vocabSize = tok.get_vocab(true).size;
  const data = generateToyData({ seed });
  const chats = toyTrainingChats(data.meta);
  const lengths = chats.map((chat) => tok.encode(renderToyChat(chat, false)).ids.length);
  const sorted = [...lengths].sort((x, y) => x - y);
  const total = lengths.reduce((s, x) => s + x, 0);
  let assistantTokens = 0;
  for (const chat of chats) assistantTokens += tok.encode(chat[chat.length - 1].content).ids.length + 1;
  const byStep = (pick: (ex: (typeof data.meta)[number]) => unknown[] | null) => {
    const ls = data.meta.map(pick).filter((c) => c !== null).map((c) => tok.encode(renderToyChat(c as never, false)).ids.length);
    return { count: ls.length, mean: +(ls.reduce((s, x) => s + x, 0) / ls.length).toFixed(1), max: Math.max(...ls) };
  };
  const errors = new Map<string, number>();
  for (const ex of data.meta) {
    const k = ex.draft.habit ? `${ex.draft.error} (habit)` : (ex.draft.error ?? 'right');
    errors.set(k, (errors.get(k) ?? 0) + 1);
  }
  const reviewed = new Map<string, number>();
  for (const ex of data.meta) {
    const k = ex.reviewed === ex.draft ? `own draft: ${ex.draft.error ?? 'right'}` : (ex.reviewed.error ?? 'right');
    reviewed.set(k, (reviewed.get(k) ?? 0) + 1);
  }
  const reviewedClasses = tally(data.meta.map((ex) => draftErrorClass(ex.question, ex.reviewed.text) ?? 'right'));
  const draftClasses = tally(data.meta.map((ex) => draftErrorClass(ex.question, ex.draft.text) ?? 'right'));
  const habitShare = data.eval.filter(habitApplies).length / Math.max(1, data.eval.length);
  const draftRight = data.meta.filter((ex) => checkToyAnswer(ex.question, ex.draft.text)).length / data.meta.length;
  const evalPromptLens = data.eval.map((q) => tok.encode(renderToyChat(toyPrompts.draft(q.text), true)).ids.length);
  const fbLens = data.meta.map((ex) => tok.encode(ex.feedback).ids.length);
  const shape = { ...PROPOSED_TOY_SHAPE, vocabSize };
  const params = llamaParamCount(shape);
  const meanLen = total / lengths.length;
  console.log(
    JSON.stringify(
      {
        seed,
        vocabSize,
        metaItems: data.meta.length,
        chats: chats.length,
        chatTokensByStep: {
          draft: byStep((ex) => ex.chats.draft),
          feedback: byStep((ex) => ex.chats.feedback),
          refine: byStep((ex) => ex.chats.refine),
        },
        chatTokens: {
          total,
          mean: +meanLen.toFixed(1),
          p50: sorted[Math.floor(sorted.length / 2)],
          p99: sorted[Math.floor(sorted.length * 0.99)],
          max: sorted[sorted.length - 1],
        },
        assistantTokens,
        feedbackTokens: { mean: +(fbLens.reduce((s, x) => s + x, 0) / fbLens.length).toFixed(1), max: Math.max(...fbLens) },
        draftPromptTokensMax: Math.max(...evalPromptLens),
        draftsRight: +draftRight.toFixed(3),
        draftKinds: Object.fromEntries([...errors].sort((x, y) => y[1] - x[1])),
        draftClasses,
        reviewedRight: +(data.meta.filter((ex) => ex.reviewed.error === null).length / data.meta.length).toFixed(3),
        reviewedKinds: Object.fromEntries([...reviewed].sort((x, y) => y[1] - x[1])),
        reviewedClasses,
        evalShareWhereHabitApplies: +habitShare.toFixed(3),
        model: { ...shape, params },
        trainingFlopsOneEpoch: trainingFlops(shape, total, Math.ceil(meanLen)),
      },
      null,
      2,
    ),
  );
}

const [cmd, a1, a2] = process.argv.slice(2);
if (cmd === 'tokenizer') writeTokenizer();
else if (cmd === 'samples') samples(Number(a1 ?? 1), Number(a2 ?? 4));
else if (cmd === 'stats') stats(Number(a1 ?? 0));
else {
  console.error('usage: npx tsx tests/scripts/toy-data.ts tokenizer | samples [seed] [n] | stats [seed]');
  process.exit(2);
}

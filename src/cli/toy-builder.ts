/**
 * What `npm run toy:build [-- --seed N --minutes M --out DIR]` does (the entry is toy-build.ts): builds the
 * embedded toy model from nothing.
 *
 *   1. the seeded generator writes the meta-skill corpus (src/core/toy, README.md);
 *   2. the tokenizer files are rebuilt from the toy world's own builder;
 *   3. a tiny Llama is initialised from the seed and trained full-parameter (src/core/toy/base-train.ts)
 *      on tfjs-wasm with XNNPACK for transposed products (src/core/toy/wasm-matmul.ts);
 *   4. config.json, model.safetensors (F32), tokenizer.json, tokenizer_config.json, generation_config.json
 *      and training_log.json are written to DIR (default public/models/toy-arith).
 *
 * The number of steps is `--steps`, or `--minutes` × a fixed rate (STEPS_PER_MINUTE, measured once on the
 * 2-core build machine), never the speed measured during the run: the same flags give the same weights.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { AppError } from '../core/errors.ts';
import { writeSafetensors, type TensorToWrite } from '../core/io/safetensors-write.ts';
import { hfWeightEntries, disposeWeights } from '../core/model/weights.ts';
import { createTokenizer } from '../core/text/tokenizer.ts';
import { nodeDirSource } from '../core/io/node-dir.ts';
import { parseModelConfig } from '../core/model/config.ts';
import { loadModel } from '../core/model/load.ts';
import { remapEmbeddingColumns, sameVocab, tokenizerVocab } from '../core/model/vocab-remap.ts';
import { DEFAULT_TOY_TRAIN_PLAN, trainToyModel, type ToyTrainPlan } from '../core/toy/base-train.ts';
import { DEFAULT_REVIEW, DEFAULT_SHAPE, buildToyTokenizerFiles, generateToyData, proposedToyConfigJson, toyJsonText, toyTrainingChats, type ToyTokenizerFiles } from '../core/toy/index.ts';
import type { LlamaModel } from '../core/model/llama.ts';
import { parseFlags, type FlagSpecs } from './args.ts';
import { useNodeBackend } from './node-backend.ts';

/**
 * Optimizer steps per planned minute: 1,024-token steps on the 2-core build machine with tfjs-wasm ran at
 * about 235 a minute with the load of two other busy processes; 200 leaves room for a busier machine.
 */
export const STEPS_PER_MINUTE = 200;
export const DEFAULT_MINUTES = 40;
/** Meta-skill items per 1,000 steps: enough fresh questions that the corpus is seen about once. */
export const META_PER_KSTEP = 5_000;
/** Extra draft-only chats per 1,000 steps. */
export const DRAFTS_PER_KSTEP = 0;
/** Operand digits [min, max] of the corpus. */
export const DEFAULT_DIGITS: readonly [number, number] = [DEFAULT_SHAPE.minDigits, DEFAULT_SHAPE.maxDigits];

const FLAGS = {
  seed: { kind: 'int', value: 'N', help: 'seed of the corpus, the initial weights and the data order (default 0)' },
  minutes: { kind: 'number', value: 'M', help: `planned length: M × ${STEPS_PER_MINUTE} steps (default ${DEFAULT_MINUTES})` },
  steps: { kind: 'int', value: 'N', help: 'optimizer steps (overrides --minutes)' },
  meta: { kind: 'int', value: 'N', help: `meta-skill items (default ${META_PER_KSTEP} per 1,000 steps)` },
  'review-focus': { kind: 'number', value: 'X', help: 'share of wrong reviewed drafts that misread an operand or miscompute a column (default 0: every kind alike)' },
  drafts: { kind: 'int', value: 'N', help: `extra draft-only chats (default ${DRAFTS_PER_KSTEP} per 1,000 steps)` },
  digits: { kind: 'string', value: 'A-B', help: `operand digits, e.g. 3 or 2-4 (default ${DEFAULT_DIGITS.join('-')})` },
  out: { kind: 'string', value: 'DIR', help: 'output folder (default public/models/toy-arith)' },
  init: { kind: 'string', value: 'DIR', help: 'start from the model in DIR (same shape; a rebuilt tokenizer is matched by token text) instead of random weights' },
  backend: { kind: 'string', value: 'NAME', help: 'wasm (default) or cpu' },
  hidden: { kind: 'int', value: 'N', help: `hidden size (default ${DEFAULT_TOY_TRAIN_PLAN.shape.hiddenSize})` },
  layers: { kind: 'int', value: 'N', help: `layers (default ${DEFAULT_TOY_TRAIN_PLAN.shape.numLayers})` },
  intermediate: { kind: 'int', value: 'N', help: `MLP size (default ${DEFAULT_TOY_TRAIN_PLAN.shape.intermediateSize})` },
  lr: { kind: 'number', value: 'X', help: `peak learning rate (default ${DEFAULT_TOY_TRAIN_PLAN.peakLr})` },
  'token-budget': { kind: 'int', value: 'N', help: `padded tokens per step (default ${DEFAULT_TOY_TRAIN_PLAN.tokenBudget})` },
  'snapshot-every': { kind: 'int', value: 'N', help: 'also write the model every N steps to DIR/snapshots/step-N' },
  quiet: { kind: 'boolean', help: 'print only the summary' },
} satisfies FlagSpecs;

export function toyBuildUsage(): string {
  const lines = Object.entries(FLAGS).map(([name, s]) => `  ${(s.kind === 'boolean' ? `--${name}` : `--${name} ${s.value}`).padEnd(22)} ${s.help}`);
  return `usage: npm run toy:build -- [flags]\n${lines.join('\n')}`;
}

/** config.json, model.safetensors (F32, Hugging Face names and layouts) and the tokenizer files. */
export function writeModelFolder(dir: string, configJson: Record<string, unknown>, model: LlamaModel, tok: ToyTokenizerFiles, meta: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  const tensors = new Map<string, TensorToWrite>();
  for (const { name, tensor } of hfWeightEntries(model.config, model.weights)) {
    tensors.set(name, { shape: tensor.shape, data: Float32Array.from(tensor.dataSync() as Float32Array) });
    tensor.dispose();
  }
  const metadata = { format: 'pt', source: 'self-refine-studio npm run toy:build', ...meta };
  writeFileSync(join(dir, 'model.safetensors'), writeSafetensors(tensors, { dtype: 'F32', metadata }));
  writeFileSync(join(dir, 'config.json'), toyJsonText(configJson));
  writeFileSync(join(dir, 'tokenizer.json'), toyJsonText(tok.tokenizer));
  writeFileSync(join(dir, 'tokenizer_config.json'), toyJsonText(tok.tokenizerConfig));
  writeFileSync(join(dir, 'generation_config.json'), toyJsonText(tok.generationConfig));
}

const configJsonFor = (vocab: number, plan: ToyTrainPlan) => proposedToyConfigJson(vocab, plan.shape);

function parseDigits(text: string, bad: (problem: string) => never): readonly [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text.trim());
  const lo = m ? Number(m[1]) : NaN;
  const hi = m ? Number(m[2] ?? m[1]) : NaN;
  if (!(lo >= 1 && hi >= lo && hi <= 12)) bad(`--digits must be N or A-B with 1 ≤ A ≤ B ≤ 12 (got "${text}").`);
  return [lo, hi];
}

/**
 * The model `--init` starts from: loaded, checked against the plan's shape, and identified for the log. When
 * the tokenizer was rebuilt since (a corpus change), its embedding is carried over by token text.
 */
async function startingModel(dir: string, tokenizerJson: unknown, vocabSize: number, plan: ToyTrainPlan, bad: (problem: string) => never, log: (line: string) => void) {
  const model = await loadModel(await nodeDirSource(dir));
  const want = parseModelConfig(configJsonFor(vocabSize, plan));
  const c = model.config;
  if (c.hiddenSize !== want.hiddenSize || c.numLayers !== want.numLayers || c.intermediateSize !== want.intermediateSize || c.numHeads !== want.numHeads || c.numKvHeads !== want.numKvHeads) {
    model.dispose();
    bad(`--init ${dir} holds a model of another shape than this plan's; give the same --hidden/--layers/--intermediate.`);
  }
  const from = tokenizerVocab(JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')));
  const to = tokenizerVocab(tokenizerJson);
  if (c.vocabSize !== vocabSize || !sameVocab(from, to)) {
    const w = model.weights;
    const { matrix, carried } = remapEmbeddingColumns(w.embedding, from, to, vocabSize);
    w.embedding.dispose();
    w.embedding = matrix;
    if (w.lmHead) {
      const head = remapEmbeddingColumns(w.lmHead, from, to, vocabSize).matrix;
      w.lmHead.dispose();
      w.lmHead = head;
    }
    log(`the tokenizer changed: ${carried} of ${to.size} tokens carried over from ${dir}, the rest start at zero`);
  }
  const sha256 = createHash('sha256').update(readFileSync(join(dir, 'model.safetensors'))).digest('hex');
  let command: string | null = null;
  try {
    command = (JSON.parse(readFileSync(join(dir, 'training_log.json'), 'utf8')) as { command?: string }).command ?? null;
  } catch {
    command = null;
  }
  return { model, dir, record: { dir, sha256, command } };
}

const fmtTime = (s: number): string => `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;

export interface BuildSummary {
  out: string;
  parameters: number;
  steps: number;
  finalLoss: number;
  wallSeconds: number;
  tokensPerSec: number;
}

/** Flags as typed values, or AppError('bad-input') naming the bad flag, followed by this command's usage. */
function flags(argv: readonly string[]) {
  try {
    return parseFlags('toy:build', argv, FLAGS);
  } catch (e) {
    if (e instanceof AppError) throw new AppError(e.code, `${e.message.split('\n')[0]}\n${toyBuildUsage()}`);
    throw e;
  }
}

export async function buildToyModel(argv: readonly string[], log: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<BuildSummary> {
  const f = flags(argv);
  const seed = f.seed ?? 0;
  const bad = (problem: string): never => {
    throw new AppError('bad-input', `${problem}\n${toyBuildUsage()}`);
  };
  if (seed < 0) bad(`--seed must be ≥ 0 (got ${seed}).`);
  const minutes = f.minutes ?? DEFAULT_MINUTES;
  if (!(minutes > 0)) bad(`--minutes must be positive (got ${minutes}).`);
  const steps = f.steps ?? Math.max(1, Math.round(minutes * STEPS_PER_MINUTE));
  if (steps < 1) bad(`--steps must be at least 1 (got ${steps}).`);
  const plan: ToyTrainPlan = {
    ...DEFAULT_TOY_TRAIN_PLAN,
    shape: {
      ...DEFAULT_TOY_TRAIN_PLAN.shape,
      ...(f.hidden !== undefined ? { hiddenSize: f.hidden } : {}),
      ...(f.layers !== undefined ? { numLayers: f.layers } : {}),
      ...(f.intermediate !== undefined ? { intermediateSize: f.intermediate } : {}),
    },
    steps,
    warmupSteps: Math.min(DEFAULT_TOY_TRAIN_PLAN.warmupSteps, Math.floor(steps / 10)),
    ...(f.lr !== undefined ? { peakLr: f.lr } : {}),
    ...(f['token-budget'] !== undefined ? { tokenBudget: f['token-budget'] } : {}),
  };
  const metaCount = f.meta ?? Math.max(200, Math.round((steps * META_PER_KSTEP) / 1000));
  const extraDrafts = f.drafts ?? Math.round((steps * DRAFTS_PER_KSTEP) / 1000);
  const digits = f.digits === undefined ? DEFAULT_DIGITS : parseDigits(f.digits, bad);
  const out = resolve(f.out ?? join(process.cwd(), 'public', 'models', 'toy-arith'));
  const backendName = f.backend ?? 'wasm';

  const backend = await useNodeBackend(backendName);
  const load0 = loadavg();
  log(`toy:build seed ${seed}, ${steps} steps of ${plan.tokenBudget} tokens, ${metaCount} meta-skill items, backend ${backend.name} (threads ${backend.threads ?? '-'}), load ${load0.map((x) => x.toFixed(2)).join(' ')}`);

  const tokenizerFiles = buildToyTokenizerFiles();
  const tokenizer = createTokenizer({
    tokenizerJson: tokenizerFiles.tokenizer,
    tokenizerConfig: tokenizerFiles.tokenizerConfig,
    extraEosTokenIds: (tokenizerFiles.generationConfig.eos_token_id as number[] | undefined) ?? [],
  });
  const shape = { minDigits: digits[0], maxDigits: digits[1] };
  const review = { ...DEFAULT_REVIEW, ...(f['review-focus'] === undefined ? {} : { focusShare: f['review-focus'] }) };
  const data = generateToyData({ seed, metaCount, extraDrafts, shape, rounds: 0, evalCount: 0, review });
  const chats = toyTrainingChats(data.meta, data.drafts);
  const start = f.init === undefined ? null : await startingModel(resolve(f.init), tokenizerFiles.tokenizer, tokenizer.vocabSize, plan, bad, log);
  if (start) log(`starting from ${start.dir} (${start.record.sha256.slice(0, 12)}…, built by: ${start.record.command ?? 'unknown'})`);

  const started = performance.now();
  const history: { step: number; loss: number; lr: number; gradNorm: number; tokensPerSec: number }[] = [];
  let window: number[] = [];
  let tokensSeen = 0;
  let stepSeconds = 0;
  const outcome = await trainToyModel({
    tokenizer,
    chats,
    plan,
    seed,
    init: start?.model.weights,
    snapshotEvery: f['snapshot-every'] ?? 0,
    onSnapshot: (step, model) => {
      const dir = join(out, 'snapshots', `step-${step}`);
      writeModelFolder(dir, configJsonFor(tokenizer.vocabSize, plan), model, tokenizerFiles, { seed: String(seed), steps: String(step) });
      writeFileSync(join(dir, 'training_log.json'), `${JSON.stringify({ snapshotOf: argv.join(' '), step, seed, plan, data: { metaCount, extraDrafts, shape } }, null, 1)}\n`);
      log(`snapshot → ${dir}`);
    },
    onStep: (r) => {
      tokensSeen += r.tokens;
      stepSeconds += r.stepMs / 1000;
      window.push(r.loss);
      if (r.step % 10 === 0 || r.step === r.totalSteps) {
        const elapsed = (performance.now() - started) / 1000;
        const mean = window.reduce((s, x) => s + x, 0) / window.length;
        window = [];
        history.push({ step: r.step, loss: +mean.toFixed(5), lr: r.lr, gradNorm: +r.gradNorm.toFixed(4), tokensPerSec: Math.round(tokensSeen / stepSeconds) });
        if (!f.quiet) {
          const eta = (elapsed / r.step) * (r.totalSteps - r.step);
          log(`step ${r.step}/${r.totalSteps}  loss ${mean.toFixed(4)}  lr ${r.lr.toExponential(2)}  ${Math.round(tokensSeen / stepSeconds)} tok/s  elapsed ${fmtTime(elapsed)}  ETA ${fmtTime(eta)}`);
        }
      }
    },
  });
  start?.model.dispose();
  const wallSeconds = (performance.now() - started) / 1000;
  const lastLosses = history.slice(-5).map((h) => h.loss);
  const finalLoss = lastLosses.reduce((s, x) => s + x, 0) / Math.max(1, lastLosses.length);

  writeModelFolder(out, outcome.configJson, { config: outcome.config, weights: outcome.weights }, tokenizerFiles, { seed: String(seed), steps: String(steps) });
  disposeWeights(outcome.weights);
  const tokensPerSec = Math.round(tokensSeen / stepSeconds);
  const trainingLog = {
    command: `npm run toy:build -- ${argv.join(' ')}`.trim(),
    seed,
    plan,
    init: start?.record ?? null,
    data: { metaCount, extraDrafts, shape, review, chats: chats.length, ...outcome.encode, batchesPerEpoch: outcome.batchesPerEpoch, buckets: outcome.buckets },
    model: { parameters: outcome.parameters, dtype: 'F32' },
    backend: { name: backend.name, threads: backend.threads, simd: backend.simd },
    host: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? null, node: process.version, loadAverageAtStart: load0, loadAverageAtEnd: loadavg() },
    result: { status: outcome.result.status, steps: outcome.result.step, finalLoss: +finalLoss.toFixed(5), wallSeconds: Math.round(wallSeconds), trainingSeconds: Math.round(stepSeconds), tokensPerSec, tokensSeen },
    history,
  };
  writeFileSync(join(out, 'training_log.json'), `${JSON.stringify(trainingLog, null, 1)}\n`);
  log(`done: ${outcome.parameters} parameters, ${steps} steps in ${fmtTime(wallSeconds)}, ${tokensPerSec} tok/s, final loss ${finalLoss.toFixed(4)} → ${out}`);
  return { out, parameters: outcome.parameters, steps, finalLoss, wallSeconds, tokensPerSec };
}


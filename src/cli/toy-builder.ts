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
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { AppError } from '../core/errors.ts';
import { writeSafetensors, type TensorToWrite } from '../core/io/safetensors-write.ts';
import { hfWeightEntries, disposeWeights } from '../core/model/weights.ts';
import { createTokenizer } from '../core/text/tokenizer.ts';
import { DEFAULT_TOY_TRAIN_PLAN, trainToyModel, type ToyTrainPlan } from '../core/toy/base-train.ts';
import { buildToyTokenizerFiles, generateToyData, toyJsonText, toyTrainingChats } from '../core/toy/index.ts';
import { useWasmKernelFixes } from '../core/toy/wasm-kernel-fixes.ts';
import { parseFlags, type FlagSpecs } from './args.ts';
import { useNodeBackend } from './node-backend.ts';

/** Optimizer steps per planned minute (2,048-token steps on the 2-core build machine, tfjs-wasm). */
export const STEPS_PER_MINUTE = 70;
export const DEFAULT_MINUTES = 45;
/** Meta-skill items per 1,000 steps: enough fresh questions that the corpus is seen about once. */
export const META_PER_KSTEP = 12_000;

const FLAGS = {
  seed: { kind: 'int', value: 'N', help: 'seed of the corpus, the initial weights and the data order (default 0)' },
  minutes: { kind: 'number', value: 'M', help: `planned length: M × ${STEPS_PER_MINUTE} steps (default ${DEFAULT_MINUTES})` },
  steps: { kind: 'int', value: 'N', help: 'optimizer steps (overrides --minutes)' },
  meta: { kind: 'int', value: 'N', help: `meta-skill items (default ${META_PER_KSTEP} per 1,000 steps)` },
  out: { kind: 'string', value: 'DIR', help: 'output folder (default public/models/toy-arith)' },
  backend: { kind: 'string', value: 'NAME', help: 'wasm (default) or cpu' },
  hidden: { kind: 'int', value: 'N', help: `hidden size (default ${DEFAULT_TOY_TRAIN_PLAN.shape.hiddenSize})` },
  layers: { kind: 'int', value: 'N', help: `layers (default ${DEFAULT_TOY_TRAIN_PLAN.shape.numLayers})` },
  intermediate: { kind: 'int', value: 'N', help: `MLP size (default ${DEFAULT_TOY_TRAIN_PLAN.shape.intermediateSize})` },
  lr: { kind: 'number', value: 'X', help: `peak learning rate (default ${DEFAULT_TOY_TRAIN_PLAN.peakLr})` },
  'token-budget': { kind: 'int', value: 'N', help: `padded tokens per step (default ${DEFAULT_TOY_TRAIN_PLAN.tokenBudget})` },
  quiet: { kind: 'boolean', help: 'print only the summary' },
} satisfies FlagSpecs;

export function toyBuildUsage(): string {
  const lines = Object.entries(FLAGS).map(([name, s]) => `  ${(s.kind === 'boolean' ? `--${name}` : `--${name} ${s.value}`).padEnd(22)} ${s.help}`);
  return `usage: npm run toy:build -- [flags]\n${lines.join('\n')}`;
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
  const out = resolve(f.out ?? join(process.cwd(), 'public', 'models', 'toy-arith'));
  const backendName = f.backend ?? 'wasm';

  const backend = await useNodeBackend(backendName);
  if (backend.name === 'wasm') useWasmKernelFixes();
  const load0 = loadavg();
  log(`toy:build seed ${seed}, ${steps} steps of ${plan.tokenBudget} tokens, ${metaCount} meta-skill items, backend ${backend.name} (threads ${backend.threads ?? '-'}), load ${load0.map((x) => x.toFixed(2)).join(' ')}`);

  const tokenizerFiles = buildToyTokenizerFiles();
  const tokenizer = createTokenizer({
    tokenizerJson: tokenizerFiles.tokenizer,
    tokenizerConfig: tokenizerFiles.tokenizerConfig,
    extraEosTokenIds: (tokenizerFiles.generationConfig.eos_token_id as number[] | undefined) ?? [],
  });
  const data = generateToyData({ seed, metaCount, rounds: 0, evalCount: 0 });
  const chats = toyTrainingChats(data.meta);

  const started = performance.now();
  const history: { step: number; loss: number; lr: number; gradNorm: number; tokensPerSec: number }[] = [];
  let window: number[] = [];
  let tokensSeen = 0;
  const outcome = await trainToyModel({
    tokenizer,
    chats,
    plan,
    seed,
    onStep: (r) => {
      tokensSeen += r.tokens;
      window.push(r.loss);
      if (r.step % 10 === 0 || r.step === r.totalSteps) {
        const elapsed = (performance.now() - started) / 1000;
        const mean = window.reduce((s, x) => s + x, 0) / window.length;
        window = [];
        history.push({ step: r.step, loss: +mean.toFixed(5), lr: r.lr, gradNorm: +r.gradNorm.toFixed(4), tokensPerSec: Math.round(tokensSeen / elapsed) });
        if (!f.quiet) {
          const eta = (elapsed / r.step) * (r.totalSteps - r.step);
          log(`step ${r.step}/${r.totalSteps}  loss ${mean.toFixed(4)}  lr ${r.lr.toExponential(2)}  ${Math.round(tokensSeen / elapsed)} tok/s  elapsed ${fmtTime(elapsed)}  ETA ${fmtTime(eta)}`);
        }
      }
    },
  });
  const wallSeconds = (performance.now() - started) / 1000;
  const lastLosses = history.slice(-5).map((h) => h.loss);
  const finalLoss = lastLosses.reduce((s, x) => s + x, 0) / Math.max(1, lastLosses.length);

  mkdirSync(out, { recursive: true });
  const entries = hfWeightEntries(outcome.config, outcome.weights);
  const tensors = new Map<string, TensorToWrite>();
  for (const { name, tensor } of entries) {
    tensors.set(name, { shape: tensor.shape, data: Float32Array.from(tensor.dataSync() as Float32Array) });
    tensor.dispose();
  }
  disposeWeights(outcome.weights);
  const metadata = { format: 'pt', source: 'self-refine-studio npm run toy:build', seed: String(seed), steps: String(steps) };
  writeFileSync(join(out, 'model.safetensors'), writeSafetensors(tensors, { dtype: 'F32', metadata }));
  writeFileSync(join(out, 'config.json'), toyJsonText(outcome.configJson));
  writeFileSync(join(out, 'tokenizer.json'), toyJsonText(tokenizerFiles.tokenizer));
  writeFileSync(join(out, 'tokenizer_config.json'), toyJsonText(tokenizerFiles.tokenizerConfig));
  writeFileSync(join(out, 'generation_config.json'), toyJsonText(tokenizerFiles.generationConfig));
  const tokensPerSec = Math.round(tokensSeen / wallSeconds);
  const trainingLog = {
    command: `npm run toy:build -- ${argv.join(' ')}`.trim(),
    seed,
    plan,
    data: { metaCount, chats: chats.length, ...outcome.encode, batchesPerEpoch: outcome.batchesPerEpoch, buckets: outcome.buckets },
    model: { parameters: outcome.parameters, dtype: 'F32' },
    backend: { name: backend.name, threads: backend.threads, simd: backend.simd },
    host: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? null, node: process.version, loadAverageAtStart: load0, loadAverageAtEnd: loadavg() },
    result: { status: outcome.result.status, steps: outcome.result.step, finalLoss: +finalLoss.toFixed(5), wallSeconds: Math.round(wallSeconds), tokensPerSec, tokensSeen },
    history,
  };
  writeFileSync(join(out, 'training_log.json'), `${JSON.stringify(trainingLog, null, 1)}\n`);
  log(`done: ${outcome.parameters} parameters, ${steps} steps in ${fmtTime(wallSeconds)}, ${tokensPerSec} tok/s, final loss ${finalLoss.toFixed(4)} → ${out}`);
  return { out, parameters: outcome.parameters, steps, finalLoss, wallSeconds, tokensPerSec };
}


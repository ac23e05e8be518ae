/**
 * `lm train`: LoRA fine-tuning of a model folder on a TRL JSONL file (SFT or DPO), written as a PEFT adapter,
 * a GGUF LoRA (llama.cpp / Ollama) or both, with a model card. The same run as the app's worker
 * (src/core/engine/tfjs/train-run.ts), in Node. Progress goes to stderr, one line per step.
 * Ctrl-C stops after the current step and writes the adapter as it is.
 */
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { TfjsTrainConfig } from '../../core/engine/tfjs/api.ts';
import { DEFAULT_TRAIN_CONFIG } from '../../core/engine/tfjs/train-config.ts';
import { runLoraTraining } from '../../core/engine/tfjs/train-run.ts';
import { AppError } from '../../core/errors.ts';
import { modelNameFromFolder } from '../../core/gguf/general.ts';
import { nodeDirSource } from '../../core/io/node-dir.ts';
import { decodeUtf8 } from '../../core/io/text-decode.ts';
import { writeFilesToFolder, readFilesFromFolder } from '../../core/lora/export-node.ts';
import { adapterExportFiles, type AdapterFormat } from '../../core/lora/export.ts';
import { disposeLora, loadPeftAdapter, parsePeftConfig } from '../../core/lora/peft-load.ts';
import type { LoraConfig, LoraWeights } from '../../core/lora/types.ts';
import { loadModel } from '../../core/model/load.ts';
import { PROJECTIONS, type Projection } from '../../core/model/types.ts';
import { OPTIMIZER_FILE, TRAINER_STATE_FILE } from '../../core/train/checkpoint.ts';
import { parseJsonl } from '../../core/train/data-parse.ts';
import type { TrainProgressMessage } from '../../core/engine/tfjs/api.ts';
import { parseFlags, usageOf, type CliCommand } from '../args.ts';
import { THREADS_FLAG, threadsFlag, useNodeBackend } from '../node-backend.ts';

const D = DEFAULT_TRAIN_CONFIG;

const FLAGS = {
  model: { kind: 'string', value: 'DIR', help: 'base model folder (Hugging Face layout)', required: true },
  data: { kind: 'string', value: 'FILE.jsonl', help: 'training rows in a TRL format (messages, prompt/completion, prompt/chosen/rejected, input_ids/labels, text)', required: true },
  out: { kind: 'string', value: 'DIR', help: 'folder for the adapter files', required: true },
  method: { kind: 'string', value: 'sft|dpo', help: 'supervised fine-tuning or DPO on preference rows (default sft)' },
  rank: { kind: 'int', value: 'R', help: `LoRA rank (default ${D.lora.r})` },
  alpha: { kind: 'int', value: 'A', help: `lora_alpha, an integer (default ${D.lora.alpha})` },
  dropout: { kind: 'number', value: 'P', help: `LoRA dropout (default ${D.lora.dropout})` },
  rslora: { kind: 'boolean', help: 'rsLoRA scaling alpha/√r instead of alpha/r' },
  targets: { kind: 'string', value: 'q_proj,v_proj', help: `modules to adapt, comma-separated, or "all" (default ${D.lora.targetModules.join(',')})` },
  layers: { kind: 'string', value: '0,1,…', help: 'layers to adapt (default all)' },
  epochs: { kind: 'number', value: 'E', help: `passes over the data (default ${D.epochs}); or give --steps` },
  steps: { kind: 'int', value: 'N', help: 'optimizer steps (instead of --epochs)' },
  batch: { kind: 'int', value: 'B', help: `rows per micro-batch (default ${D.batchSize})` },
  'grad-accum': { kind: 'int', value: 'K', help: `micro-batches per optimizer step (default ${D.gradAccum})` },
  lr: { kind: 'number', value: 'LR', help: `peak learning rate (default ${D.lr})` },
  optimizer: { kind: 'string', value: 'adamw|sgd', help: `optimizer (default ${D.optimizer})` },
  'weight-decay': { kind: 'number', value: 'W', help: `weight decay (default ${D.weightDecay})` },
  schedule: { kind: 'string', value: 'constant|linear|cosine', help: `learning-rate schedule (default ${D.schedule})` },
  warmup: { kind: 'int', value: 'N', help: `warmup steps (default ${D.warmupSteps})` },
  clip: { kind: 'number', value: 'C', help: 'gradient-norm clip; 0 = none (default 0)' },
  'seq-len': { kind: 'int', value: 'T', help: `longest sequence; longer rows are truncated and counted (default ${D.seqLen})` },
  seed: { kind: 'int', value: 'S', help: `seed for LoRA init, shuffling and dropout (default ${D.seed})` },
  beta: { kind: 'number', value: 'β', help: `DPO beta (default ${D.beta})` },
  resume: { kind: 'string', value: 'DIR', help: 'continue from a PEFT adapter (its r, alpha and targets apply) or a checkpoint folder' },
  'checkpoint-every': { kind: 'int', value: 'N', help: 'write OUT/checkpoint-<step>/ every N steps (default never)' },
  format: { kind: 'string', value: 'peft|gguf|both', help: 'what to write (default peft)' },
  backend: { kind: 'string', value: 'cpu|wasm', help: 'tfjs backend (default wasm)' },
  threads: THREADS_FLAG,
  'base-model': { kind: 'string', value: 'NAME', help: 'base_model_name_or_path written in the adapter, e.g. a hub id (default: the model folder\'s name, never its path)' },
} as const;

function bad(message: string): never {
  throw new AppError('bad-input', `${message}.\n${usageOf('train', FLAGS)}`);
}

function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) bad(`--${flag} must be ${allowed.join(', ')}, not "${value}"`);
  return value as T;
}

function parseTargets(text: string): Projection[] {
  if (text === 'all' || text === 'all-linear') return [...PROJECTIONS];
  const list = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) bad('--targets needs at least one module');
  for (const t of list) if (!(PROJECTIONS as readonly string[]).includes(t)) bad(`--targets: unknown module "${t}"; choose from ${PROJECTIONS.join(', ')} or "all"`);
  return list as Projection[];
}

function parseLayers(text: string): number[] {
  const parts = text.split(',').map((s) => s.trim());
  if (parts.some((p) => !/^\d+$/.test(p))) bad(`--layers must be comma-separated layer numbers like 0,1,2, not "${text}"`);
  return parts.map(Number);
}

/** With --resume the adapter's LoRA settings apply; flags that say otherwise are refused, not ignored. */
function checkResumeFlags(f: { rank?: number; alpha?: number; targets?: string; layers?: string; rslora?: boolean }, saved: LoraConfig, asked: LoraConfig): void {
  const differs: string[] = [];
  if (f.rank !== undefined && asked.r !== saved.r) differs.push(`--rank ${asked.r} (the adapter has r=${saved.r})`);
  if (f.alpha !== undefined && asked.alpha !== saved.alpha) differs.push(`--alpha ${asked.alpha} (the adapter has lora_alpha=${saved.alpha})`);
  const same = (x: readonly unknown[], y: readonly unknown[]) => x.length === y.length && x.every((v) => y.includes(v));
  if (f.targets !== undefined && !same(asked.targetModules, saved.targetModules)) differs.push(`--targets (the adapter has ${saved.targetModules.join(',')})`);
  if (f.layers !== undefined && !same(asked.layers ?? [], saved.layers ?? [])) differs.push(`--layers (the adapter has ${saved.layers?.join(',') ?? 'all'})`);
  if (f.rslora && !saved.rslora) differs.push('--rslora (the adapter does not use rsLoRA)');
  if (differs.length) bad(`--resume continues the adapter with its own settings, but ${differs.join(', ')}; drop those flags`);
}

async function isDir(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isDirectory() ?? false;
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

export const command: CliCommand = {
  name: 'train',
  summary: 'LoRA fine-tuning (SFT or DPO) on a TRL JSONL file → PEFT / GGUF adapter',
  usage: () => usageOf('train', FLAGS),
  async run(argv) {
    const f = parseFlags('train', argv, FLAGS);
    const method = oneOf('method', f.method, ['sft', 'dpo'] as const, 'sft');
    const format = oneOf<AdapterFormat>('format', f.format, ['peft', 'gguf', 'both'], 'peft');
    if (f.epochs !== undefined && f.steps !== undefined) bad('give --epochs or --steps, not both');
    const config: TfjsTrainConfig = {
      lora: {
        r: f.rank ?? D.lora.r,
        alpha: f.alpha ?? D.lora.alpha,
        dropout: f.dropout ?? D.lora.dropout,
        rslora: f.rslora === true,
        targetModules: f.targets !== undefined ? parseTargets(f.targets) : [...D.lora.targetModules],
        layers: f.layers !== undefined ? parseLayers(f.layers) : null,
      },
      lr: f.lr ?? D.lr,
      steps: f.steps ?? null,
      epochs: f.epochs ?? D.epochs,
      batchSize: f.batch ?? D.batchSize,
      gradAccum: f['grad-accum'] ?? D.gradAccum,
      optimizer: oneOf('optimizer', f.optimizer, ['adamw', 'sgd'] as const, D.optimizer),
      weightDecay: f['weight-decay'] ?? D.weightDecay,
      schedule: oneOf('schedule', f.schedule, ['constant', 'linear', 'cosine'] as const, D.schedule),
      warmupSteps: f.warmup ?? D.warmupSteps,
      clip: f.clip ?? D.clip,
      seqLen: f['seq-len'] ?? D.seqLen,
      seed: f.seed ?? D.seed,
      beta: f.beta ?? D.beta,
      checkpointEvery: f['checkpoint-every'] ?? 0,
      checkpointSeconds: 0,
    };

    let bytes: Uint8Array;
    try {
      bytes = await readFile(f.data);
    } catch {
      throw new AppError('not-found', `--data: cannot read ${f.data}.`);
    }
    const rows = parseJsonl(decodeUtf8(bytes, f.data));
    if (!(await isDir(f.model))) throw new AppError('not-found', `--model: ${f.model} is not a folder.`);
    let saved: Map<string, Uint8Array> | null = null;
    if (f.resume !== undefined) {
      if (!(await isDir(f.resume))) throw new AppError('not-found', `--resume: ${f.resume} is not a folder.`);
      saved = await readFilesFromFolder(f.resume, ['adapter_config.json', 'adapter_model.safetensors', OPTIMIZER_FILE, TRAINER_STATE_FILE], {
        required: ['adapter_config.json', 'adapter_model.safetensors'],
      });
      let raw: unknown;
      try {
        raw = JSON.parse(decodeUtf8(saved.get('adapter_config.json') as Uint8Array, join(f.resume, 'adapter_config.json')));
      } catch {
        throw new AppError('bad-input', `--resume: ${join(f.resume, 'adapter_config.json')} is not valid JSON.`);
      }
      checkResumeFlags(f, parsePeftConfig(raw).lora, config.lora);
    }

    const backend = await useNodeBackend(f.backend ?? 'wasm', { threads: threadsFlag(f.threads) });
    const model = await loadModel(await nodeDirSource(f.model));
    const baseModel = f['base-model'] ?? modelNameFromFolder(resolve(f.model), await readFile(join(f.model, 'config.json'), 'utf8').then(JSON.parse, () => null));
    let from: LoraWeights | null = null;
    let resume: Map<string, Uint8Array> | null = null;
    const stopper = new AbortController();
    const onSigint = (): void => {
      process.stderr.write('\nstopping after the current step…\n');
      stopper.abort();
    };
    process.once('SIGINT', onSigint);
    try {
      if (saved && f.resume !== undefined) {
        // A checkpoint folder continues the run exactly (optimizer state, step, RNG); a plain adapter starts a
        // new run from its weights.
        if (saved.has(TRAINER_STATE_FILE)) resume = saved;
        else from = await loadPeftAdapter(await nodeDirSource(f.resume), model.config);
      }
      const log = (line: string): void => void process.stderr.write(`${line}\n`);
      log(`backend ${backend.name}${backend.simd ? ' (SIMD)' : ''}${backend.threads ? `, ${backend.threads} thread${backend.threads === 1 ? '' : 's'}` : ''}; model ${model.label}: ${model.config.architecture}, ${model.config.numLayers} layers`);
      const pending: Promise<unknown>[] = [];
      const onProgress = (m: TrainProgressMessage): void => {
        switch (m.kind) {
          case 'prepared':
            log(`data: ${m.examples} ${method === 'dpo' ? 'pairs' : 'examples'}, ${m.truncated} truncated to ${config.seqLen} tokens, ${m.dropped} dropped (nothing left to learn); ${m.totalSteps} steps`);
            break;
          case 'step':
            log(
              `step ${m.step}/${m.totalSteps}  loss ${m.loss.toFixed(4)}  lr ${m.lr.toExponential(2)}  grad-norm ${m.gradNorm.toFixed(3)}  ` +
                `${Math.round(m.tokensPerSec)} tokens/s  tensors ${mib(m.memoryBytes)}`,
            );
            break;
          case 'checkpoint': {
            const dir = join(f.out, `checkpoint-${m.step}`);
            pending.push(writeFilesToFolder(dir, new Map(Object.entries(m.files))).then(() => log(`checkpoint: ${dir}`)));
            break;
          }
          case 'status':
            break;
        }
      };
      const run = await runLoraTraining({ model, method, rows, config, from, resume, baseModel, signal: stopper.signal, onProgress });
      await Promise.all(pending);
      try {
        const files = await adapterExportFiles({
          weights: run.weights,
          model: model.config,
          baseModel,
          format,
          card: {
            method,
            dataRows: run.report.examples,
            truncatedRows: run.report.truncated,
            trainTokens: run.report.supervisedTokens,
            steps: run.steps,
            finalLoss: run.finalLoss,
            learningRate: config.lr,
            optimizer: config.optimizer,
            seed: config.seed,
          },
        });
        const written = await writeFilesToFolder(f.out, files);
        const status = run.status === 'aborted' ? `stopped after ${run.steps} of ${run.totalSteps} steps` : `${run.steps} steps`;
        log(`done: ${status}, final loss ${run.finalLoss === null ? 'n/a' : run.finalLoss.toFixed(4)}, ${run.report.truncated} truncated, ${run.seconds.toFixed(1)} s`);
        process.stdout.write(`${written.join('\n')}\n`);
      } finally {
        disposeLora(run.weights);
      }
    } finally {
      process.off('SIGINT', onSigint);
      if (from) disposeLora(from);
      model.dispose();
    }
  },
};

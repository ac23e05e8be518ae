/**
 * `lm merge`: a PEFT LoRA adapter merged into its base model (W' = W + scaling · B·A on every adapted
 * projection), written as a plain model folder: `model.safetensors` (every tensor the runtime reads, in
 * Hugging Face names and layouts) plus the base folder's config.json, generation_config.json and tokenizer
 * files. The result loads anywhere a model loads, without the adapter.
 *
 * Nothing is written unless everything succeeded, and an --out that already holds a model is refused.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../../core/errors.ts';
import { MERGE_DTYPES, readBaseFiles, runMerge } from '../../core/engine/tfjs/merge-run.ts';
import { nodeDirSource } from '../../core/io/node-dir.ts';
import type { SafetensorsDtype } from '../../core/io/safetensors-write.ts';
import { writeFilesToFolder } from '../../core/lora/export-node.ts';
import { disposeLora, loadPeftAdapter } from '../../core/lora/peft-load.ts';
import { loadModel, type LanguageModel } from '../../core/model/load.ts';
import { MLC_QUANTIZATIONS } from '../../core/mlc/types.ts';
import { parseFlags, usageOf, type CliCommand } from '../args.ts';
import { useNodeBackend } from '../node-backend.ts';
import { runMlcMerge } from './merge-mlc.ts';
import { parseQuantization } from './mlc-export.ts';

const FLAGS = {
  model: { kind: 'string', value: 'DIR', help: 'base model folder (config.json, model.safetensors or shards + index, tokenizer files)', required: true },
  adapter: { kind: 'string', value: 'DIR', help: 'PEFT LoRA adapter folder (adapter_config.json, adapter_model.safetensors)', required: true },
  out: { kind: 'string', value: 'DIR', help: 'folder for the merged model (new, or one without a model in it)', required: true },
  dtype: { kind: 'string', value: 'F32|F16|BF16', help: 'dtype of the merged weights (default F32)' },
  format: { kind: 'string', value: 'safetensors|mlc', help: 'what to write: a Hugging Face folder (default) or MLC files for web-llm' },
  quantization: { kind: 'string', value: MLC_QUANTIZATIONS.join('|'), help: 'mlc: how the weights are stored (an MLC --model keeps its own)' },
  report: { kind: 'string', value: 'FILE.json', help: 'mlc: write the merge report (weights and logits kept) here' },
  backend: { kind: 'string', value: 'cpu|wasm', help: 'tfjs backend (default cpu)' },
} as const;

/** Files whose presence means --out already holds a model: writing there would overwrite or mix with it. */
const MODEL_FILES = ['model.safetensors', 'model.safetensors.index.json'];

function bad(message: string): never {
  throw new AppError('bad-input', `${message}.\n${usageOf('merge', FLAGS)}`);
}

/** A problem with a folder the user named is bad input (exit code 2): the flag is named in the message. */
export async function fromFlag<T>(flag: string, task: () => Promise<T>): Promise<T> {
  try {
    return await task();
  } catch (e) {
    if (e instanceof AppError && e.code !== 'aborted' && e.code !== 'internal' && e.code !== 'bad-input') {
      throw new AppError('bad-input', `--${flag}: ${e.message}`, { cause: e });
    }
    throw e;
  }
}

async function checkOut(out: string): Promise<void> {
  const st = await stat(out).catch(() => null);
  if (!st) return;
  if (!st.isDirectory()) bad(`--out ${out} is a file, not a folder`);
  for (const name of MODEL_FILES) {
    if (await stat(join(out, name)).catch(() => null)) {
      throw new AppError('bad-input', `--out ${out} already holds a model (${name}); nothing was written. Choose a new or empty folder for the merged model.`);
    }
  }
}

/** The adapter folder must hold PEFT's two files; said here in the adapter's terms (the loader speaks of models). */
export async function checkAdapterFolder(dir: string): Promise<void> {
  const what = 'Pass the folder PEFT\'s save_pretrained wrote: adapter_config.json and adapter_model.safetensors';
  const st = await stat(dir).catch(() => null);
  if (!st?.isDirectory()) throw new AppError('bad-input', `--adapter ${dir} is not a folder. ${what}.`);
  const missing: string[] = [];
  for (const name of ['adapter_config.json', 'adapter_model.safetensors']) {
    if (!(await stat(join(dir, name)).catch(() => null))?.isFile()) missing.push(name);
  }
  if (missing.length > 0) throw new AppError('bad-input', `--adapter ${dir} has no ${missing.join(' and ')}. ${what}.`);
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

export const command: CliCommand = {
  name: 'merge',
  summary: 'merge a PEFT LoRA adapter into its base model → a full model folder (model.safetensors + config/tokenizer)',
  usage: () => usageOf('merge', FLAGS),
  async run(argv) {
    const f = parseFlags('merge', argv, FLAGS);
    if (f.format === 'mlc') {
      if (f.dtype !== undefined) bad('--dtype is for --format safetensors; MLC files take --quantization');
      const quantization = f.quantization === undefined ? undefined : parseQuantization('merge', f.quantization, FLAGS);
      return runMlcMerge({ ...f, quantization });
    }
    if (f.format !== undefined && f.format !== 'safetensors') bad(`--format must be safetensors or mlc, not "${f.format}"`);
    if (f.quantization !== undefined || f.report !== undefined) bad('--quantization and --report are for --format mlc');
    const dtype = (f.dtype === undefined ? 'F32' : f.dtype.toUpperCase()) as SafetensorsDtype;
    if (!MERGE_DTYPES.includes(dtype)) bad(`--dtype must be ${MERGE_DTYPES.join(', ')}, not "${f.dtype}"`);
    await checkOut(f.out);
    await checkAdapterFolder(f.adapter);
    const modelSource = await fromFlag('model', () => nodeDirSource(f.model));
    const adapterSource = await fromFlag('adapter', () => nodeDirSource(f.adapter));
    await useNodeBackend(f.backend ?? 'cpu');
    const model: LanguageModel = await fromFlag('model', () => loadModel(modelSource));
    try {
      const lora = await fromFlag('adapter', () => loadPeftAdapter(adapterSource, model.config));
      try {
        const baseFiles = await fromFlag('model', () => readBaseFiles(modelSource));
        const run = await runMerge(model, lora, baseFiles, { dtype });
        await checkOut(f.out); // again, just before writing: nothing appeared there meanwhile
        const written = await writeFilesToFolder(f.out, run.files);
        const size = run.files.get('model.safetensors')?.byteLength ?? 0;
        process.stderr.write(
          `merged ${run.mergedModules} projections (scaling ${lora.scaling}) into ${model.label}: ${run.tensors} tensors, model.safetensors ${mib(size)} (${dtype})\n`,
        );
        process.stdout.write(`${written.join('\n')}\n`);
      } finally {
        disposeLora(lora);
      }
    } finally {
      model.dispose();
    }
  },
};

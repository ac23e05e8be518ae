/**
 * `lm merge`: a PEFT LoRA adapter merged into its base model (W' = W + scaling · B·A on every adapted
 * projection), written as a model that runs without the adapter:
 *   --format safetensors (default)  model.safetensors (Hugging Face names and layouts) plus the base folder's
 *                                   config.json, generation_config.json and tokenizer files
 *   --format gguf                   model.gguf (llama.cpp), a Modelfile for Ollama (FROM ./model.gguf) and a README
 *
 * Nothing is written unless everything succeeded, and an --out that already holds a model is refused.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../../core/errors.ts';
import { checkMergeFormat, MERGE_FORMAT_NAMES, mergeFormatDtypes, readBaseFiles, runMerge, type MergeDtype } from '../../core/engine/tfjs/merge-run.ts';
import { nodeDirSource } from '../../core/io/node-dir.ts';
import { writeFilesToFolder } from '../../core/lora/export-node.ts';
import { disposeLora, loadPeftAdapter } from '../../core/lora/peft-load.ts';
import { loadModel, type LanguageModel } from '../../core/model/load.ts';
import { MLC_QUANTIZATIONS } from '../../core/mlc/types.ts';
import { parseFlags, usageOf, type CliCommand } from '../args.ts';
import { baseModelOf, fromFlag, ggufNote, mib } from '../model-export.ts';
import { useNodeBackend } from '../node-backend.ts';
import { runMlcMerge } from './merge-mlc.ts';
import { parseQuantization } from './mlc-export.ts';

const FLAGS = {
  model: { kind: 'string', value: 'DIR', help: 'base model folder (config.json, model.safetensors or shards + index, tokenizer files)', required: true },
  adapter: { kind: 'string', value: 'DIR', help: 'PEFT LoRA adapter folder (adapter_config.json, adapter_model.safetensors)', required: true },
  out: { kind: 'string', value: 'DIR', help: 'folder for the merged model (new, or one without a model in it)', required: true },
  format: { kind: 'string', value: 'safetensors|gguf|mlc', help: 'safetensors (default): a Hugging Face model folder; gguf: model.gguf + Modelfile + README for llama.cpp and Ollama; mlc: MLC files for web-llm' },
  dtype: { kind: 'string', value: 'DTYPE', help: 'weights: F32|F16|BF16 for safetensors (default F32), F32|F16|Q8_0 for gguf (default Q8_0)' },
  name: { kind: 'string', value: 'NAME', help: 'the merged model\'s name in the GGUF (default: "<base model> merged")' },
  'base-model': { kind: 'string', value: 'NAME', help: 'the base model\'s name or hub id recorded in the GGUF (default: the model folder\'s name, never its path)' },
  quantization: { kind: 'string', value: MLC_QUANTIZATIONS.join('|'), help: 'mlc: how the weights are stored (an MLC --model keeps its own)' },
  report: { kind: 'string', value: 'FILE.json', help: 'mlc: write the merge report (weights and logits kept) here' },
  backend: { kind: 'string', value: 'cpu|wasm', help: 'tfjs backend (default cpu)' },
} as const;

/** Files whose presence means --out already holds a model: writing there would overwrite or mix with it. */
const MODEL_FILES = ['model.safetensors', 'model.safetensors.index.json', 'model.gguf'];

function bad(message: string): never {
  throw new AppError('bad-input', `${message}.\n${usageOf('merge', FLAGS)}`);
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

export const command: CliCommand = {
  name: 'merge',
  summary: 'merge a PEFT LoRA adapter into its base model → model.safetensors + config/tokenizer, or model.gguf + Modelfile',
  usage: () => usageOf('merge', FLAGS),
  async run(argv) {
    const f = parseFlags('merge', argv, FLAGS);
    if (f.format === 'mlc') {
      if (f.dtype !== undefined) bad('--dtype is for --format safetensors or gguf; MLC files take --quantization');
      const quantization = f.quantization === undefined ? undefined : parseQuantization('merge', f.quantization, FLAGS);
      return runMlcMerge({ ...f, quantization });
    }
    if (f.quantization !== undefined || f.report !== undefined) bad('--quantization and --report are for --format mlc');
    let format;
    try {
      format = checkMergeFormat(f.format?.toLowerCase());
    } catch {
      bad(`--format must be ${MERGE_FORMAT_NAMES.join(', ')} or mlc, not "${f.format}"`);
    }
    const { dtypes, defaultDtype } = mergeFormatDtypes(format);
    const dtype = (f.dtype === undefined ? defaultDtype : f.dtype.toUpperCase()) as MergeDtype;
    if (!dtypes.includes(dtype)) bad(`--dtype must be ${dtypes.join(', ')}, not "${f.dtype}" (for --format ${format})`);
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
        const baseModel = baseModelOf(f['base-model'], f.model, baseFiles);
        const run = await runMerge(model, lora, baseFiles, { format, dtype, baseModel, name: f.name ?? `${baseModel} merged` });
        await checkOut(f.out); // again, just before writing: nothing appeared there meanwhile
        const written = await writeFilesToFolder(f.out, run.files);
        const file = format === 'gguf' ? 'model.gguf' : 'model.safetensors';
        process.stderr.write(
          `merged ${run.mergedModules} projections (scaling ${lora.scaling}) into ${baseModel}: ${run.tensors} tensors, ${file} ${mib(run.files.get(file)?.byteLength ?? 0)} (${dtype})\n`,
        );
        if (run.gguf) process.stderr.write(`${ggufNote(run.gguf)}\n`);
        process.stdout.write(`${written.join('\n')}\n`);
      } finally {
        disposeLora(lora);
      }
    } finally {
      model.dispose();
    }
  },
};

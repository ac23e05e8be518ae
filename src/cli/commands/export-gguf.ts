/**
 * `lm export-gguf`: a model folder (Hugging Face layout) as one GGUF file for llama.cpp, e.g. the base model
 * that an exported `adapter.gguf` is applied to with `llama-cli --lora`. The weights go through the runtime's own
 * loader, so what is written is exactly what the app computes with. Refuses to overwrite a file.
 */
import { stat, writeFile } from 'node:fs/promises';
import { AppError } from '../../core/errors.ts';
import { checkGgufDtype, GGUF_DTYPES } from '../../core/gguf/model-gguf.ts';
import { readBaseFiles, runMerge } from '../../core/engine/tfjs/merge-run.ts';
import { nodeDirSource } from '../../core/io/node-dir.ts';
import { loadModel } from '../../core/model/load.ts';
import { parseFlags, usageOf, type CliCommand } from '../args.ts';
import { baseModelOf, fromFlag, ggufNote, mib } from '../model-export.ts';
import { useNodeBackend } from '../node-backend.ts';

const FLAGS = {
  model: { kind: 'string', value: 'DIR', help: 'model folder (config.json, model.safetensors or shards + index, tokenizer files)', required: true },
  out: { kind: 'string', value: 'FILE', help: 'the .gguf file to write (must not exist)', required: true },
  dtype: { kind: 'string', value: GGUF_DTYPES.join('|'), help: 'tensor type (default Q8_0; norms stay F32)' },
  name: { kind: 'string', value: 'NAME', help: 'general.name in the GGUF (default: the model folder\'s name, never its path)' },
  backend: { kind: 'string', value: 'cpu|wasm', help: 'tfjs backend (default cpu)' },
} as const;

function bad(message: string): never {
  throw new AppError('bad-input', `${message}.\n${usageOf('export-gguf', FLAGS)}`);
}

export const command: CliCommand = {
  name: 'export-gguf',
  summary: 'write a model folder as one GGUF file (F32, F16 or Q8_0) for llama.cpp',
  usage: () => usageOf('export-gguf', FLAGS),
  async run(argv) {
    const f = parseFlags('export-gguf', argv, FLAGS);
    let dtype;
    try {
      dtype = checkGgufDtype(f.dtype?.toUpperCase());
    } catch {
      bad(`--dtype must be ${GGUF_DTYPES.join(', ')}, not "${f.dtype}"`);
    }
    if (await stat(f.out).catch(() => null)) bad(`--out ${f.out} already exists; nothing was written`);
    const source = await fromFlag('model', () => nodeDirSource(f.model));
    await useNodeBackend(f.backend ?? 'cpu');
    const model = await fromFlag('model', () => loadModel(source));
    try {
      const baseFiles = await fromFlag('model', () => readBaseFiles(source));
      const name = baseModelOf(f.name, f.model, baseFiles);
      const run = await runMerge(model, null, baseFiles, { format: 'gguf', dtype, name });
      const bytes = run.files.get('model.gguf');
      if (!bytes) throw new AppError('internal', 'The GGUF writer returned no model.gguf.');
      await writeFile(f.out, bytes, { flag: 'wx' });
      process.stderr.write(`${name}: ${run.tensors} tensors, ${mib(bytes.byteLength)} (${dtype})\n`);
      if (run.gguf) process.stderr.write(`${ggufNote(run.gguf, false)}\n`);
      process.stdout.write(`${f.out}\n`);
    } finally {
      model.dispose();
    }
  },
};

/**
 * `lm mlc-export`: a Hugging Face model folder → an MLC folder (mlc-chat-config.json, tensor-cache.json,
 * params_shard_*.bin, tokenizer files) in q0f32, q0f16, q4f16_1 or q4f32_1, laid out as mlc-llm's
 * convert_weight writes it (see src/core/mlc/README.md). For making test fixtures from any HF folder; web-llm
 * also needs a compiled model library for the architecture, size and quantization, which this does not make.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../../core/errors.ts';
import { nodeDirSource } from '../../core/io/node-dir.ts';
import { writeFilesToFolder } from '../../core/lora/export-node.ts';
import { exportMlc, hfModelOf } from '../../core/mlc/export.ts';
import { isMlcQuantization, MLC_QUANTIZATIONS, TENSOR_CACHE_FILE, type MlcQuantization } from '../../core/mlc/types.ts';
import { loadModel } from '../../core/model/load.ts';
import { parseFlags, usageOf, type CliCommand } from '../args.ts';
import { useNodeBackend } from '../node-backend.ts';

const FLAGS = {
  model: { kind: 'string', value: 'HFDIR', help: 'Hugging Face model folder (config.json, safetensors, tokenizer files)', required: true },
  out: { kind: 'string', value: 'DIR', help: 'folder for the MLC files (new, or one without tensor-cache.json)', required: true },
  quantization: { kind: 'string', value: MLC_QUANTIZATIONS.join('|'), help: 'how the weights are stored', required: true },
  backend: { kind: 'string', value: 'cpu|wasm', help: 'tfjs backend used to read the model (default cpu)' },
} as const;

export function parseQuantization(command: string, value: string, specs: Parameters<typeof usageOf>[1]): MlcQuantization {
  if (!isMlcQuantization(value)) throw new AppError('bad-input', `--quantization must be ${MLC_QUANTIZATIONS.join(', ')}, not "${value}".\n${usageOf(command, specs)}`);
  return value;
}

/** Refuses an --out that already holds an MLC model (writing there would mix two models' shards). */
export async function checkMlcOut(out: string): Promise<void> {
  const st = await stat(out).catch(() => null);
  if (!st) return;
  if (!st.isDirectory()) throw new AppError('bad-input', `--out ${out} is a file, not a folder.`);
  if (await stat(join(out, TENSOR_CACHE_FILE)).catch(() => null)) {
    throw new AppError('bad-input', `--out ${out} already holds an MLC model (${TENSOR_CACHE_FILE}); nothing was written. Choose a new or empty folder.`);
  }
}

export const command: CliCommand = {
  name: 'mlc-export',
  summary: 'convert a Hugging Face model folder to MLC files (web-llm\'s format) in q0f32, q0f16, q4f16_1 or q4f32_1',
  usage: () => usageOf('mlc-export', FLAGS),
  async run(argv) {
    const f = parseFlags('mlc-export', argv, FLAGS);
    const quantization = parseQuantization('mlc-export', f.quantization, FLAGS);
    await checkMlcOut(f.out);
    const source = await nodeDirSource(f.model);
    await useNodeBackend(f.backend ?? 'cpu');
    const model = await loadModel(source);
    try {
      const files = await exportMlc(await hfModelOf(model, source), quantization);
      await checkMlcOut(f.out);
      const written = await writeFilesToFolder(f.out, files);
      const bytes = [...files.values()].reduce((n, b) => n + b.byteLength, 0);
      process.stderr.write(`exported ${model.label} as ${quantization}: ${files.size} files, ${(bytes / 2 ** 20).toFixed(2)} MiB\n`);
      process.stdout.write(`${written.join('\n')}\n`);
    } finally {
      model.dispose();
    }
  },
};

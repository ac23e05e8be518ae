/** `lm logits`: logits for token-id rows, written as JSON `{"logits": [[[…vocab], …positions], …rows]}`. */
import { writeFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import { AppError } from '../../core/errors.ts';
import { nodeDirSource } from '../../core/io/node-dir.ts';
import { loraLinears } from '../../core/lora/linear.ts';
import { disposeLora, loadPeftAdapter } from '../../core/lora/peft-load.ts';
import { forward } from '../../core/model/llama.ts';
import { loadAnyModel } from '../../core/mlc/load.ts';
import { parseFlags, parseIdList, usageOf, type CliCommand } from '../args.ts';
import { useNodeBackend } from '../node-backend.ts';

const FLAGS = {
  model: { kind: 'string', value: 'DIR', help: 'model folder: Hugging Face (config.json, model.safetensors, tokenizer files) or MLC (mlc-chat-config.json, tensor-cache.json, shards)', required: true },
  ids: { kind: 'string', value: '1,2,3[:4,5,6]', help: 'token ids; rows separated by ":" (rows may differ in length)', required: true },
  adapter: { kind: 'string', value: 'DIR', help: 'PEFT LoRA adapter folder to apply' },
  backend: { kind: 'string', value: 'cpu|wasm', help: 'tfjs backend (default cpu)' },
  out: { kind: 'string', value: 'FILE.json', help: 'where to write the logits', required: true },
} as const;

export const command: CliCommand = {
  name: 'logits',
  summary: 'write the logits of token-id rows to a JSON file',
  usage: () => usageOf('logits', FLAGS),
  async run(argv) {
    const f = parseFlags('logits', argv, FLAGS);
    const rows = f.ids.split(':').map((r) => parseIdList(r, '--ids'));
    await useNodeBackend(f.backend ?? 'cpu');
    const model = await loadAnyModel(await nodeDirSource(f.model));
    const lora = f.adapter ? await loadPeftAdapter(await nodeDirSource(f.adapter), model.config) : null;
    try {
      const V = model.config.vocabSize;
      for (const row of rows) {
        const badId = row.find((id) => id >= V);
        if (badId !== undefined) throw new AppError('bad-input', `--ids: token id ${badId} is outside the vocabulary (0–${V - 1}).`);
        if (row.length > model.contextLength) {
          throw new AppError('context-overflow', `--ids: a row has ${row.length} tokens; this model reads at most ${model.contextLength}.`);
        }
      }
      // Right-pad to one batch: causal attention keeps the padding from touching real positions.
      const T = Math.max(...rows.map((r) => r.length));
      const padded = rows.map((r) => [...r, ...new Array<number>(T - r.length).fill(0)]);
      const input = tf.tensor2d(padded, [rows.length, T], 'int32');
      const logits = forward(model, input, { linears: loraLinears(lora) });
      input.dispose();
      const values = (await logits.array()) as number[][][];
      logits.dispose();
      const out = values.map((row, i) => row.slice(0, rows[i].length));
      await writeFile(f.out, JSON.stringify({ logits: out }));
    } finally {
      if (lora) disposeLora(lora);
      model.dispose();
    }
  },
};

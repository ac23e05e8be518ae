/**
 * `lm generate`: applies the model's chat template to --prompt (a user message) or --messages (a JSON list of
 * {role, content}) and prints the completion as it is generated. --ids generates from raw token ids instead.
 */
import { readFile } from 'node:fs/promises';
import { AppError } from '../../core/errors.ts';
import { nodeDirSource } from '../../core/io/node-dir.ts';
import { decodeUtf8 } from '../../core/io/text-decode.ts';
import { withLoraLinears } from '../../core/lora/linear.ts';
import { disposeLora, loadPeftAdapter } from '../../core/lora/peft-load.ts';
import { encodeChat, generate } from '../../core/model/generate.ts';
import { loadModel } from '../../core/model/load.ts';
import type { ChatMessage } from '../../core/text/types.ts';
import { parseFlags, parseIdList, usageOf, type CliCommand } from '../args.ts';
import { THREADS_FLAG, threadsFlag, useNodeBackend } from '../node-backend.ts';
import { checkWeightFormat, describeFormatError, loadInFormat } from '../../core/kernels/load-format.ts';

const FLAGS = {
  model: { kind: 'string', value: 'DIR', help: 'model folder', required: true },
  prompt: { kind: 'string', value: 'TEXT', help: 'a user message (the chat template is applied)' },
  messages: { kind: 'string', value: 'FILE.json', help: 'a JSON list of {"role","content"} messages' },
  ids: { kind: 'string', value: '1,2,3', help: 'raw prompt token ids (no chat template)' },
  adapter: { kind: 'string', value: 'DIR', help: 'PEFT LoRA adapter folder to apply' },
  'max-tokens': { kind: 'int', value: 'N', help: 'most new tokens (default 256)' },
  temperature: { kind: 'number', value: 'T', help: '0 = greedy (default)' },
  'top-p': { kind: 'number', value: 'P', help: 'nucleus sampling mass (default 1)' },
  'top-k': { kind: 'int', value: 'K', help: 'sample among the K likeliest tokens (default off)' },
  'repetition-penalty': { kind: 'number', value: 'R', help: 'HF-style repetition penalty (default 1)' },
  seed: { kind: 'int', value: 'S', help: 'makes sampling reproducible' },
  stop: { kind: 'string', value: 'TEXT', help: 'stop before this text' },
  backend: { kind: 'string', value: 'cpu|wasm', help: 'tfjs backend (default wasm)' },
  threads: THREADS_FLAG,
  weights: { kind: 'string', value: 'f32|f32-packed|int8', help: 'f32-packed: F32 packed for decoding on the wasm kernels (faster decoding); int8: 8-bit weights (smaller, faster still); both print their logit error against F32; an --adapter runs on the kernels with them' },
  'no-cache': { kind: 'boolean', help: 'recompute the whole sequence each step (for checks)' },
  'ignore-eos': { kind: 'boolean', help: 'do not stop at the end-of-sequence token' },
  json: { kind: 'boolean', help: 'print one JSON object {text, tokens, finishReason, usage} instead of the text' },
} as const;

export const command: CliCommand = {
  name: 'generate',
  summary: 'generate a reply to --prompt / --messages (or continue --ids)',
  usage: () => usageOf('generate', FLAGS),
  async run(argv) {
    const f = parseFlags('generate', argv, FLAGS);
    const given = [f.prompt, f.messages, f.ids].filter((x) => x !== undefined).length;
    if (given !== 1) throw new AppError('bad-input', `give exactly one of --prompt, --messages or --ids.\n${usageOf('generate', FLAGS)}`);
    const messages = f.messages !== undefined ? parseMessages(await readMessagesFile(f.messages), f.messages) : null;
    const rawIds = f.ids !== undefined ? parseIdList(f.ids, '--ids') : null;
    const weights = checkWeightFormat(f.weights);
    await useNodeBackend(f.backend ?? 'wasm', { threads: threadsFlag(f.threads) });
    const model = await loadModel(await nodeDirSource(f.model));
    if (weights !== 'f32') {
      try {
        process.stderr.write(`${describeFormatError(loadInFormat(model, weights))}\n`);
      } catch (e) {
        model.dispose();
        throw e;
      }
    }
    const lora = f.adapter ? await loadPeftAdapter(await nodeDirSource(f.adapter), model.config) : null;
    try {
      const ids = rawIds ?? encodeChat(model.tokenizer, messages ?? [{ role: 'user', content: f.prompt ?? '' }]);
      const result = await withLoraLinears(lora, (linears) => generate(model, ids, {
        linears,
        maxTokens: f['max-tokens'],
        temperature: f.temperature,
        topP: f['top-p'],
        topK: f['top-k'],
        repetitionPenalty: f['repetition-penalty'],
        seed: f.seed,
        stop: f.stop !== undefined ? [f.stop] : undefined,
        useCache: !f['no-cache'],
        stopTokenIds: f['ignore-eos'] ? [] : undefined,
        onToken: f.json ? undefined : (delta) => process.stdout.write(delta),
      }));
      if (f.json) process.stdout.write(`${JSON.stringify({ text: result.text, tokens: result.tokens, finishReason: result.finishReason, usage: result.usage })}\n`);
      else process.stdout.write('\n');
    } finally {
      if (lora) disposeLora(lora);
      model.dispose();
    }
  },
};

async function readMessagesFile(path: string): Promise<unknown> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch {
    throw new AppError('not-found', `--messages: cannot read ${path}.`);
  }
  const text = decodeUtf8(bytes, path);
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new AppError('bad-input', `--messages: ${path} is not valid JSON (${e instanceof Error ? e.message : String(e)}).`);
  }
}

function parseMessages(raw: unknown, path: string): ChatMessage[] {
  const list = Array.isArray(raw) ? raw : typeof raw === 'object' && raw !== null ? (raw as { messages?: unknown }).messages : undefined;
  if (!Array.isArray(list) || list.length === 0) throw new AppError('bad-input', `--messages: ${path} must hold a non-empty JSON list of {"role", "content"} messages.`);
  return list.map((m, i) => {
    const { role, content } = (typeof m === 'object' && m !== null ? m : {}) as { role?: unknown; content?: unknown };
    if ((role !== 'system' && role !== 'user' && role !== 'assistant') || typeof content !== 'string') {
      throw new AppError('bad-input', `--messages: message ${i} in ${path} needs "role" (system, user or assistant) and a string "content".`);
    }
    return { role, content };
  });
}

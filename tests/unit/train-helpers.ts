/**
 * Test helpers for the training and adapter-format tests: an independent minimal safetensors reader
 * (written from the format description, sharing no code with the writer) and float helpers.
 */

export interface ReadTensor {
  dtype: string;
  shape: number[];
  offsets: [number, number];
  values: Float32Array;
}

export interface ReadSafetensors {
  headerLength: number;
  headerText: string;
  metadata: Record<string, string> | undefined;
  /** In header order. */
  tensors: Map<string, ReadTensor>;
  dataStart: number;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

function bf16ToFloat(h: number): number {
  const buf = new DataView(new ArrayBuffer(4));
  buf.setUint32(0, h << 16, false);
  return buf.getFloat32(0, false);
}

export function decodeHalf(h: number): number {
  return halfToFloat(h);
}
export function decodeBf16(h: number): number {
  return bf16ToFloat(h);
}

export function readSafetensorsIndependently(bytes: Uint8Array): ReadSafetensors {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  const headerText = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  const header = JSON.parse(headerText) as Record<string, unknown>;
  const dataStart = 8 + n;
  const tensors = new Map<string, ReadTensor>();
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const info = raw as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const [b, e] = info.data_offsets;
    const count = info.shape.reduce((x, y) => x * y, 1);
    const values = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      if (info.dtype === 'F32') values[i] = dv.getFloat32(dataStart + b + 4 * i, true);
      else if (info.dtype === 'F16') values[i] = halfToFloat(dv.getUint16(dataStart + b + 2 * i, true));
      else if (info.dtype === 'BF16') values[i] = bf16ToFloat(dv.getUint16(dataStart + b + 2 * i, true));
      else throw new Error(`unexpected dtype ${info.dtype}`);
    }
    if (e - b !== count * (info.dtype === 'F32' ? 4 : 2)) throw new Error(`bad offsets for ${name}`);
    tensors.set(name, { dtype: info.dtype, shape: info.shape, offsets: [b, e], values });
  }
  return {
    headerLength: n,
    headerText,
    metadata: header.__metadata__ as Record<string, string> | undefined,
    tensors,
    dataStart,
  };
}

/** Deterministic pseudo-random floats for test data (independent of src/core/random/rng.ts). */
export function testFloats(n: number, seed: number, scale = 1): Float32Array {
  let x = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = ((x / 0x100000000) * 2 - 1) * scale;
  }
  return out;
}

/** Largest |a - b| relative to the largest |b| (1 if b is all zero). */
export function maxRelError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let mag = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    mag = Math.max(mag, Math.abs(b[i]));
  }
  return diff / (mag || 1);
}

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseModelConfig } from '../../src/core/model/config.ts';
import type { ModelConfig } from '../../src/core/model/types.ts';
import { fixturesDir, type FixtureName } from '../fixtures/paths.ts';

/** A fixture model's parsed config. */
export function fixtureModelConfig(name: FixtureName): ModelConfig {
  const raw = JSON.parse(readFileSync(join(fixturesDir(), name, 'model', 'config.json'), 'utf8')) as Record<string, unknown>;
  return parseModelConfig(raw);
}

/** A small model config of the given family, parsed from a Hugging Face-style config.json object. */
export function smallModelConfig(overrides: Record<string, unknown> = {}): ModelConfig {
  return parseModelConfig({
    model_type: 'llama',
    hidden_size: 32,
    intermediate_size: 48,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    vocab_size: 50,
    rms_norm_eps: 1e-5,
    tie_word_embeddings: false,
    ...overrides,
  });
}

import * as tf from '@tensorflow/tfjs';
import type { LoraWeights } from '../../src/core/lora/types.ts';

/** Gives every B (and A) of an adapter deterministic random values in [-scale, scale], so that exports carry real numbers. */
export function randomizeLora(w: LoraWeights, seed: number, scale = 0.5): void {
  let s = seed;
  for (const { a, b } of w.modules.values()) {
    for (const t of [a, b]) {
      const v = t as unknown as tf.Variable;
      const size = v.shape.reduce((x, y) => x * y, 1);
      v.assign(tf.tensor(testFloats(size, ++s, scale), v.shape));
    }
  }
}

import { Template } from '@huggingface/jinja';
import type { ChatMessage, TextTokenizer } from '../../src/core/text/types.ts';

/** The fixtures' ChatML chat template (adds a default system turn when none is given). */
export function fixtureChatTemplate(): string {
  const cfg = JSON.parse(readFileSync(join(fixturesDir(), 'tiny-llama', 'model', 'tokenizer_config.json'), 'utf8')) as {
    chat_template: string;
  };
  return cfg.chat_template;
}

/** A Llama-3-style template: BOS, header tokens around the role, <|eot_id|> after each turn. */
export const LLAMA3_LIKE_TEMPLATE =
  "{{ '<|begin_of_text|>' }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";

export const TEST_SPECIALS = [
  '<|endoftext|>', '<|im_start|>', '<|im_end|>', '<|begin_of_text|>', '<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>',
];

/**
 * A character-level tokenizer for tests: special tokens first (ids 0..6), then one id per character code
 * (7 + code, codes < 256; anything else → the id of '?'). With `mergeRepeats`, two equal consecutive
 * characters become one token (id 300 + code), which makes token boundaries differ from text boundaries.
 */
export function charTokenizer(template: string, options: { mergeRepeats?: boolean; eos?: string } = {}): TextTokenizer {
  const compiled = new Template(template);
  const base = TEST_SPECIALS.length;
  const eos = TEST_SPECIALS.indexOf(options.eos ?? '<|im_end|>');
  return {
    vocabSize: 600,
    eosTokenIds: [eos],
    padTokenId: 0,
    encode(text: string): number[] {
      const ids: number[] = [];
      let i = 0;
      outer: while (i < text.length) {
        for (let s = 0; s < TEST_SPECIALS.length; s++) {
          if (text.startsWith(TEST_SPECIALS[s], i)) {
            ids.push(s);
            i += TEST_SPECIALS[s].length;
            continue outer;
          }
        }
        const code = text.charCodeAt(i) < 256 ? text.charCodeAt(i) : 63;
        if (options.mergeRepeats && text[i + 1] === text[i] && text.charCodeAt(i) < 256) {
          ids.push(300 + code);
          i += 2;
        } else {
          ids.push(base + code);
          i += 1;
        }
      }
      return ids;
    },
    decode(ids: readonly number[]): string {
      return ids
        .map((id) => (id < base ? TEST_SPECIALS[id] : id >= 300 ? String.fromCharCode(id - 300).repeat(2) : String.fromCharCode(id - base)))
        .join('');
    },
    applyChatTemplate(messages: readonly ChatMessage[], opts: { addGenerationPrompt?: boolean } = {}): string {
      return compiled.render({ messages, add_generation_prompt: opts.addGenerationPrompt ?? false });
    },
  };
}

/**
 * numpy's w.reshape(nHead, 2, rows/nHead/2, cols).swapaxes(1, 2).reshape(rows, cols), done generically with
 * strides: walk the swapped view in C order and copy from the source strides.
 */
export function numpyPermute(w: Float32Array, rows: number, cols: number, nHead: number): Float32Array {
  const shape = [nHead, 2, rows / nHead / 2, cols];
  const strides = [shape[1] * shape[2] * shape[3], shape[2] * shape[3], shape[3], 1];
  const vShape = [shape[0], shape[2], shape[1], shape[3]]; // axes 1 and 2 swapped
  const vStrides = [strides[0], strides[2], strides[1], strides[3]];
  const out = new Float32Array(w.length);
  let k = 0;
  for (let a = 0; a < vShape[0]; a++)
    for (let b = 0; b < vShape[1]; b++)
      for (let c = 0; c < vShape[2]; c++)
        for (let d = 0; d < vShape[3]; d++) out[k++] = w[a * vStrides[0] + b * vStrides[1] + c * vStrides[2] + d * vStrides[3]];
  return out;
}

/**
 * MLC test models, made at test time by the project's exporter (the code `lm mlc-export` runs) from the
 * shared fixtures, a random qwen3 and the toy model, plus an independent reader of the MLC format written
 * here from mlc-llm's and tvmjs's definitions (not from src/core/mlc), so that a mistake shared by our
 * exporter and our reader (a fusing order, a nibble order) cannot agree with itself.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { memorySource } from '../../src/core/io/memory-source.ts';
import type { ModelSource } from '../../src/core/io/model-source.ts';
import { nodeDirSource } from '../../src/core/io/node-dir.ts';
import { exportMlc, hfModelOf } from '../../src/core/mlc/export.ts';
import type { MlcQuantization } from '../../src/core/mlc/types.ts';
import { forward, type LlamaModel } from '../../src/core/model/llama.ts';
import { loadModel } from '../../src/core/model/load.ts';
import { loraLinears } from '../../src/core/lora/linear.ts';
import type { LoraWeights } from '../../src/core/lora/types.ts';
import { REPO_ROOT } from '../fixtures/paths.ts';
import { modelDir, reference } from '../fixtures/reference.ts';
import { QWEN3_TINY, randomCheckpoint } from '../fixtures/tiny-models.ts';

export const MLC_FIXTURES = ['tiny-llama', 'tiny-qwen2', 'tiny-qwen3', 'toy-arith'] as const;
export type MlcFixture = (typeof MLC_FIXTURES)[number];

export const TOY_DIR = join(REPO_ROOT, 'public/models/toy-arith');

/** The HF folder of a fixture. */
export async function hfSource(name: MlcFixture): Promise<ModelSource> {
  if (name === 'tiny-llama' || name === 'tiny-qwen2') return nodeDirSource(modelDir(name));
  if (name === 'toy-arith') return nodeDirSource(TOY_DIR);
  return memorySource('tiny-qwen3', randomCheckpoint(QWEN3_TINY, 3).files, 'the random tiny qwen3');
}

/** Token rows to compare logits on (the fixtures' reference input, clipped to each vocabulary). */
export function testRows(name: MlcFixture): number[][] {
  const ids = reference('tiny-llama').input_ids;
  return name === 'toy-arith' ? ids.map((r) => r.map((t) => t % 366)) : ids;
}

const exported = new Map<string, Promise<Map<string, Uint8Array>>>();

/** MLC files of a fixture in a quantization, exported once per test file. */
export function mlcFiles(name: MlcFixture, q: MlcQuantization): Promise<Map<string, Uint8Array>> {
  const key = `${name}:${q}`;
  let p = exported.get(key);
  if (!p) {
    p = (async () => {
      const source = await hfSource(name);
      const model = await loadModel(source);
      try {
        return await exportMlc(await hfModelOf(model, source), q);
      } finally {
        model.dispose();
      }
    })();
    exported.set(key, p);
  }
  return p;
}

export function mlcSource(name: string, files: ReadonlyMap<string, Uint8Array>): ModelSource {
  return memorySource(name, files, `the MLC test folder ${name}`);
}

export async function logitsOf(model: LlamaModel, rows: number[][], lora: LoraWeights | null = null): Promise<Float32Array> {
  const ids = tf.tensor2d(rows, undefined, 'int32');
  const out = forward(model, ids, { linears: loraLinears(lora) });
  ids.dispose();
  const data = (await out.data()) as Float32Array;
  out.dispose();
  return data;
}

export function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** ‖a − b‖ / ‖b‖ */
export function relRms(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let e = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    e += (a[i] - b[i]) ** 2;
    n += b[i] * b[i];
  }
  return Math.sqrt(e / n);
}

// ---- the independent reader ------------------------------------------------------------------------

function half(h: number): number {
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  const s = h & 0x8000 ? -1 : 1;
  return e === 0 ? s * m * 2 ** -24 : e === 31 ? NaN : s * (1 + m / 1024) * 2 ** (e - 15);
}

/** x rounded to the nearest float16 (ties to even). */
export function toHalfPrecision(x: number): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  const e = Math.max(Math.floor(Math.log2(Math.abs(x))), -14);
  const quantum = 2 ** (e - 10);
  const r = x / quantum;
  const f = Math.floor(r);
  const d = r - f;
  return (d > 0.5 || (d === 0.5 && f % 2 !== 0) ? f + 1 : f) * quantum;
}

interface Rec {
  name: string;
  shape: number[];
  dtype: string;
  format: string;
  byteOffset: number;
  nbytes: number;
}

/** Every parameter of an MLC folder as float64 values (q4 dequantized by the formula, in float64). */
export function readMlcIndependently(files: ReadonlyMap<string, Uint8Array>): Map<string, { shape: number[]; dtype: string; values: Float64Array | Uint32Array }> {
  const index = JSON.parse(new TextDecoder().decode(files.get('tensor-cache.json'))) as { records: Array<{ dataPath: string; records: Rec[] }> };
  const out = new Map<string, { shape: number[]; dtype: string; values: Float64Array | Uint32Array }>();
  for (const shard of index.records) {
    const bytes = files.get(shard.dataPath)!;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (const r of shard.records) {
      const n = r.shape.reduce((a, b) => a * b, 1);
      if (r.dtype === 'uint32') {
        const w = new Uint32Array(n);
        for (let i = 0; i < n; i++) w[i] = view.getUint32(r.byteOffset + 4 * i, true);
        out.set(r.name, { shape: r.shape, dtype: r.dtype, values: w });
        continue;
      }
      const v = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        if (r.dtype === 'float32' && r.format === 'raw') v[i] = view.getFloat32(r.byteOffset + 4 * i, true);
        else if (r.dtype === 'float16') v[i] = half(view.getUint16(r.byteOffset + 2 * i, true));
        else v[i] = new Float32Array(new Uint32Array([view.getUint16(r.byteOffset + 2 * i, true) << 16]).buffer)[0];
      }
      out.set(r.name, { shape: r.shape, dtype: r.dtype, values: v });
    }
  }
  return out;
}

/**
 * HF tensors (float64) from an MLC folder by the published mapping: dequantize `(q − 7)·scale` with groups
 * of 32 and 8 nibbles per uint32 (low bits first), split qkv_proj / c_attn as q, k, v and gate_up_proj as
 * gate, up.
 */
export function hfFromMlcIndependently(files: ReadonlyMap<string, Uint8Array>, c: { heads: number; kvHeads: number; headDim: number }): Map<string, { shape: number[]; values: Float64Array }> {
  const params = readMlcIndependently(files);
  const dense = new Map<string, { shape: number[]; values: Float64Array }>();
  for (const [name, p] of params) {
    if (name.endsWith('.q_scale')) continue;
    if (name.endsWith('.q_weight')) {
      const base = name.slice(0, -'.q_weight'.length);
      const scale = params.get(`${base}.q_scale`)!;
      const [rows, groups] = scale.shape;
      const words = p.shape[1];
      const cols = groups * 32; // trimmed below by the matching HF shape
      const v = new Float64Array(rows * cols);
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          const word = (p.values as Uint32Array)[r * words + Math.floor(c / 8)];
          const q = Math.floor(word / 16 ** (c % 8)) % 16;
          const w = (q - 7) * (scale.values as Float64Array)[r * groups + Math.floor(c / 32)];
          // A float16 model dequantizes in float16 (mlc-llm's GroupQuantize computes in the model dtype).
          v[r * cols + c] = scale.dtype === 'float16' ? toHalfPrecision(w) : w;
        }
      }
      dense.set(`${base}.weight`, { shape: [rows, cols], values: v });
    } else dense.set(name, { shape: p.shape, values: p.values as Float64Array });
  }
  const out = new Map<string, { shape: number[]; values: Float64Array }>();
  const rows = (t: { shape: number[]; values: Float64Array }, from: number, count: number, cols: number) => ({
    shape: t.shape.length === 2 ? [count, cols] : [count],
    values: t.values.slice(from * cols, (from + count) * cols),
  });
  const q = c.heads * c.headDim;
  const kv = c.kvHeads * c.headDim;
  for (const [name, t] of dense) {
    const m = /^(.*)\.(qkv_proj|c_attn|gate_up_proj)\.(weight|bias)$/.exec(name);
    const cols = t.shape.length === 2 ? t.shape[1] : 1;
    if (!m) {
      out.set(name, t);
      continue;
    }
    const [, prefix, kind, role] = m;
    if (kind === 'gate_up_proj') {
      const I = t.shape[0] / 2;
      out.set(`${prefix}.gate_proj.${role}`, rows(t, 0, I, cols));
      out.set(`${prefix}.up_proj.${role}`, rows(t, I, I, cols));
    } else {
      out.set(`${prefix}.q_proj.${role}`, rows(t, 0, q, cols));
      out.set(`${prefix}.k_proj.${role}`, rows(t, q, kv, cols));
      out.set(`${prefix}.v_proj.${role}`, rows(t, q + kv, kv, cols));
    }
  }
  return out;
}

export function readConfigJson(dir: string): Record<string, any> {
  return JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, any>;
}

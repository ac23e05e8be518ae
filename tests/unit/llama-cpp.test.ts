/**
 * llama.cpp runs the GGUF files this project writes: node-llama-cpp 3.21.1 (tests/scripts/llama-peer.ts,
 * installed on first use into a cache folder outside the repo; if that cannot be done every test here FAILS with
 * the reason, none skips) loads
 *   - the merged model (`lm merge --format gguf`'s runMerge) in F32, F16 and Q8_0, and
 *   - the base model as GGUF F32 plus the adapter as `adapter.gguf` (llama.cpp applies the LoRA itself),
 * and the log-softmax of its logits is compared with the adapted reference: the fixtures' float64 reference
 * logits (tiny-llama, tiny-qwen2 with their PEFT adapters), or an independent float64 forward pass over the
 * merged weights (tests/fixtures/naive-llama.ts) for a qwen3 checkpoint, a llama with Llama 3 RoPE scaling and
 * attention biases, and the embedded toy model, each with a random LoRA adapter. llama.cpp's KV cache is F32.
 *
 * Bounds on max |Δ log p| over every position and token: see bound().
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useNodeBackend } from '../../src/cli/node-backend.ts';
import { runMerge } from '../../src/core/engine/tfjs/merge-run.ts';
import { nodeDirSource } from '../../src/core/io/node-dir.ts';
import { loraToGguf } from '../../src/core/lora/gguf.ts';
import { disposeLora, initLora } from '../../src/core/lora/init.ts';
import { loadPeftAdapter } from '../../src/core/lora/peft-load.ts';
import { loraToPlain } from '../../src/core/lora/tensor-data.ts';
import type { LoraWeights } from '../../src/core/lora/types.ts';
import { loadModel, type LanguageModel } from '../../src/core/model/load.ts';
import { PROJECTIONS } from '../../src/core/model/types.ts';
import { naiveLogits, type HfWeights } from '../fixtures/naive-llama.ts';
import { adapterDir, modelDir, reference } from '../fixtures/reference.ts';
import { LLAMA3_TINY, memorySource, QWEN3_TINY, randomCheckpoint } from '../fixtures/tiny-models.ts';
import { ensureLlamaPeer, LLAMA_PEER_VERSION, openPeerModel, type PeerModelOptions } from '../scripts/llama-peer.ts';
import { randomizeLora, readSafetensorsIndependently } from './train-helpers.ts';

type Dtype = 'F32' | 'F16' | 'Q8_0';

/**
 * Bounds on max |Δ log p|, given the largest |logit| L of the reference. F32 (and base + adapter.gguf) is exact
 * up to float32 arithmetic: 1e-4. F16 and Q8_0 carry llama.cpp's own arithmetic on those types (its CPU matmuls
 * round the activations to f16, or quantize them to Q8_0, as well as the weights), so their error grows with L:
 * F16 1e-2, or 2e-3·L when L > 5 (tiny-qwen2's random logits reach ±27, the toy's ±21); Q8_0 7.5e-2·L.
 * Measured here (the test prints them): F32 ≤ 1.3e-5; F16 0.65–1.5e-3·L; Q8_0 3.2–4.9e-2·L.
 */
function bound(dtype: Dtype | 'adapter', L: number): number {
  if (dtype === 'F32' || dtype === 'adapter') return 1e-4;
  return dtype === 'F16' ? Math.max(1e-2, 2e-3 * L) : 7.5e-2 * L;
}

const dir = mkdtempSync(join(tmpdir(), 'llama-cpp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Case {
  label: string;
  /** The model folder's files (config, weights, tokenizer). */
  files: Map<string, Uint8Array>;
  /** Its PEFT adapter folder, or null for a random adapter. */
  adapter: string | null;
  /** Token rows to evaluate, and the adapted reference logits for them (null: compute with naiveLogits). */
  rows: number[][];
  referenceLogits: number[][][] | null;
  /** HF config and float64 weights, for naiveLogits. */
  hf?: { config: Record<string, unknown>; weights: HfWeights };
}

function folderFiles(path: string): Map<string, Uint8Array> {
  const names = ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];
  const out = new Map<string, Uint8Array>();
  for (const n of names) {
    try {
      out.set(n, new Uint8Array(readFileSync(join(path, n))));
    } catch {
      // optional file
    }
  }
  return out;
}

function hfWeightsOf(files: Map<string, Uint8Array>): HfWeights {
  const st = readSafetensorsIndependently(files.get('model.safetensors')!);
  return new Map([...st.tensors].map(([name, t]) => [name, { shape: t.shape, data: Float64Array.from(t.values) }]));
}

/** W + scaling · B·A in float64 for every adapted projection: the reference's merged weights. */
async function mergedHfWeights(base: HfWeights, lora: LoraWeights): Promise<HfWeights> {
  const out: HfWeights = new Map(base);
  for (const [module, { a, b }] of await loraToPlain(lora)) {
    const w = base.get(`${module}.weight`)!;
    const [rows, cols] = w.shape;
    const r = a.shape[0];
    const data = Float64Array.from(w.data);
    for (let o = 0; o < rows; o++) for (let k = 0; k < r; k++) for (let i = 0; i < cols; i++) data[o * cols + i] += lora.scaling * b.data[o * r + k] * a.data[k * cols + i];
    out.set(`${module}.weight`, { shape: w.shape, data });
  }
  return out;
}

function logSoftmax(row: readonly number[]): number[] {
  const m = Math.max(...row);
  const lse = m + Math.log(row.reduce((s, x) => s + Math.exp(x - m), 0));
  return row.map((x) => x - lse);
}

const PAD_FREE = (ref: ReturnType<typeof reference>): number[][] =>
  // Row 1 ends in padding (labels -100 after the last real token); compare the real tokens only.
  ref.input_ids.map((ids, r) => (r === 0 ? ids : ids.slice(0, ids.length - 3)));

function cases(): Case[] {
  const out: Case[] = [];
  for (const name of ['tiny-llama', 'tiny-qwen2'] as const) {
    const ref = reference(name);
    const rows = PAD_FREE(ref);
    out.push({
      label: `${name === 'tiny-llama' ? 'llama' : 'qwen2 (q/k/v biases, tied)'}: ${name} fixture + its PEFT adapter`,
      files: folderFiles(modelDir(name)),
      adapter: adapterDir(name),
      rows,
      referenceLogits: rows.map((ids, r) => ref.logits_adapted[r].slice(0, ids.length)),
    });
  }
  // qwen3 with every row a multiple of 32 (so Q8_0 covers all weights) and head_dim ≠ hidden / heads.
  const qwen3 = { ...QWEN3_TINY, hidden_size: 64, intermediate_size: 96, head_dim: 32, max_position_embeddings: 128 };
  const llama3 = LLAMA3_TINY;
  const ids = (n: number, vocab: number) => Array.from({ length: n }, (_, i) => (i * 37 + 11) % vocab);
  for (const [label, config, rowLength] of [
    ['qwen3 (q/k norms, head_dim 32 ≠ 64 / 4, tied): random checkpoint + random LoRA', qwen3, 24],
    ['llama with Llama 3 RoPE scaling and q/k/v/o biases: random checkpoint + random LoRA', llama3, 80],
  ] as const) {
    const { weights, files } = randomCheckpoint(config, label.length, 'F32');
    out.push({ label, files, adapter: null, rows: [ids(rowLength, 300)], referenceLogits: null, hf: { config, weights } });
  }
  const toy = folderFiles(join(process.cwd(), 'public/models/toy-arith'));
  const toyConfig = JSON.parse(new TextDecoder().decode(toy.get('config.json'))) as Record<string, unknown>;
  out.push({ label: 'llama (tied): the embedded toy model + random LoRA', files: toy, adapter: null, rows: [ids(40, 366)], referenceLogits: null, hf: { config: toyConfig, weights: hfWeightsOf(toy) } });
  return out;
}

/** max |Δ log p| between llama.cpp on `gguf` and the reference log-softmax. */
async function peerError(gguf: string, rows: number[][], want: number[][][], o: PeerModelOptions = {}): Promise<number> {
  const peer = await openPeerModel(gguf, o);
  try {
    let worst = 0;
    for (const [r, ids] of rows.entries()) {
      const got = await peer.logProbs(ids);
      for (let t = 0; t < ids.length; t++) {
        const ref = logSoftmax(want[r][t]);
        for (let v = 0; v < ref.length; v++) worst = Math.max(worst, Math.abs(got[t][v] - ref[v]));
      }
    }
    return worst;
  } finally {
    await peer.dispose();
  }
}

const measured: string[] = [];

beforeAll(() => useNodeBackend('cpu'));

/** The peer's install, started once; every test awaits it, so a failed install fails each of them with its reason. */
let installing: Promise<string> | null = null;
const peerInstalled = () => (installing ??= ensureLlamaPeer({ log: (l) => process.stderr.write(`${l}\n`) }));

afterAll(() => {
  if (measured.length) process.stderr.write(`llama.cpp (node-llama-cpp ${LLAMA_PEER_VERSION}) max |Δ log p| against the adapted reference:\n${measured.join('\n')}\n`);
});

describe(`llama.cpp (node-llama-cpp ${LLAMA_PEER_VERSION}) runs the GGUF files the project writes`, () => {
  it(`installs node-llama-cpp ${LLAMA_PEER_VERSION} (CPU build only) outside the repo, or fails saying why`, async () => {
    const dir = await peerInstalled();
    expect(dir.startsWith(process.cwd())).toBe(false);
  }, 600_000);

  for (const c of cases()) {
    it(c.label, async () => {
      await peerInstalled();
      const model: LanguageModel = await loadModel(memorySource(c.label, c.files));
      let lora: LoraWeights | null = null;
      try {
        if (c.adapter) lora = await loadPeftAdapter(await nodeDirSource(c.adapter), model.config);
        else {
          lora = initLora({ r: 4, alpha: 8, dropout: 0, rslora: false, targetModules: [...PROJECTIONS], layers: null }, model.config, 5);
          randomizeLora(lora, c.label.length, 0.1);
        }
        const want = c.referenceLogits ?? (await (async () => {
          const merged = await mergedHfWeights(c.hf!.weights, lora!);
          return c.rows.map((ids) => naiveLogits(c.hf!.config, merged, ids));
        })());
        const scale = Math.max(...want.flat(2).map(Math.abs));
        const slug = c.label.replace(/[^a-z0-9]+/gi, '-').slice(0, 40);
        const errors: Array<[Dtype | 'adapter', number]> = [];
        for (const dtype of ['F32', 'F16', 'Q8_0'] as const) {
          const run = await runMerge(model, lora, c.files, { format: 'gguf', dtype, name: slug });
          const path = join(dir, `${slug}-${dtype}.gguf`);
          writeFileSync(path, run.files.get('model.gguf')!);
          errors.push([dtype, await peerError(path, c.rows, want)]);
        }
        // The base model as GGUF plus adapter.gguf: llama.cpp applies the LoRA (scale 1 = the adapter's own alpha / r).
        const base = await runMerge(model, null, c.files, { format: 'gguf', dtype: 'F32', name: slug });
        const basePath = join(dir, `${slug}-base.gguf`);
        const adapterPath = join(dir, `${slug}-adapter.gguf`);
        writeFileSync(basePath, base.files.get('model.gguf')!);
        writeFileSync(adapterPath, await loraToGguf(lora, model.config));
        errors.push(['adapter', await peerError(basePath, c.rows, want, { lora: [{ path: adapterPath, scale: 1 }] })]);
        measured.push(`  ${c.label} (max |logit| ${scale.toFixed(1)}): ${errors.map(([d, e]) => `${d === 'adapter' ? 'base F32 + adapter.gguf' : d} ${e.toExponential(2)}`).join(', ')}`);
        for (const [d, e] of errors) expect(e, d).toBeLessThan(bound(d, scale));
      } finally {
        if (lora) disposeLora(lora);
        model.dispose();
      }
    });
  }

  it("tokenizes text as the fixture's own tokenizer does (byte-level BPE, pre-tokenizer gpt-2)", async () => {
    await peerInstalled();
    const files = folderFiles(modelDir('tiny-llama'));
    const model = await loadModel(memorySource('tok', files));
    try {
      const run = await runMerge(model, null, files, { format: 'gguf', dtype: 'F32', name: 'tok' });
      const path = join(dir, 'tok.gguf');
      writeFileSync(path, run.files.get('model.gguf')!);
      const peer = await openPeerModel(path);
      try {
        for (const text of ['hello world', 'The 3 quick brown foxes, 12345 of them!', '<|im_start|>user\nhi there<|im_end|>\n', "  spaces  and\ttabs\n\nit's"]) {
          expect(peer.tokenize(text), text).toEqual(model.tokenizer.encode(text));
        }
      } finally {
        await peer.dispose();
      }
    } finally {
      model.dispose();
    }
  });
});

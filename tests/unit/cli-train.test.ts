/**
 * `lm train` run for real on the fixtures: the written PEFT files (keys, shapes, config), the GGUF parsed back
 * with @huggingface/gguf (every name, shape and value; llama's q/k row permutation), one SGD step equal to
 * the update computed independently through the library on the same batch, the same seed giving identical
 * files, checkpoint resume ending where an uninterrupted run ends, --resume from a PEFT adapter, the
 * truncation count, and clear errors for bad flags and data.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gguf } from '@huggingface/gguf';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useNodeBackend } from '../../src/cli/node-backend.ts';
import { nodeThreadChoice } from '../../src/core/backend/node-wasm.ts';
import { nodeDirSource } from '../../src/core/io/node-dir.ts';
import { initLora } from '../../src/core/lora/init.ts';
import { disposeLora } from '../../src/core/lora/peft-load.ts';
import { forwardHidden } from '../../src/core/model/llama.ts';
import { loadModel } from '../../src/core/model/load.ts';
import { PROJECTIONS, projectionDims } from '../../src/core/model/types.ts';
import { padSequences } from '../../src/core/train/batches.ts';
import { encodeSftRows } from '../../src/core/train/data-encode.ts';
import { parseJsonl } from '../../src/core/train/data-parse.ts';
import { loraParamMap } from '../../src/core/train/lora-params.ts';
import { causalLmLossFromHidden } from '../../src/core/train/loss.ts';
import { adapterDir, modelDir } from '../fixtures/reference.ts';
import { fixtureModelConfig, maxRelError, readSafetensorsIndependently } from './train-helpers.ts';
import { lm, type Run } from './cli-helpers.ts';
import { loraLinears } from '../../src/core/lora/linear.ts';

let tmp: string;
const path = (...p: string[]) => join(tmp, ...p);
const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

const QWEN_ROWS = [
  { messages: [{ role: 'user', content: 'name a colour' }, { role: 'assistant', content: 'blue' }] },
  { prompt: [{ role: 'user', content: 'two plus two' }], completion: [{ role: 'assistant', content: 'four, of course' }] },
  { messages: [{ role: 'user', content: 'tell a story' }, { role: 'assistant', content: 'once upon a time a very long answer went on and on past the sequence length of this test' }] },
];
const LLAMA_ROWS = Array.from({ length: 5 }, (_, i) => ({ prompt: `q${i}: `, completion: `answer ${i * 11}` }));

let runs: Record<string, Run> = {};

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'cli-train-'));
  await writeFile(path('qwen.jsonl'), jsonl(QWEN_ROWS));
  await writeFile(path('llama.jsonl'), jsonl(LLAMA_ROWS));
  await writeFile(path('bad.jsonl'), `${JSON.stringify(LLAMA_ROWS[0])}\n{"prompt": "x"}\n`);
  const sgd = ['--model', modelDir('tiny-qwen2'), '--data', path('qwen.jsonl'), '--steps', '1', '--batch', '3', '--optimizer', 'sgd', '--lr', '0.5'];
  const lora = ['--targets', 'all', '--rank', '2', '--alpha', '4', '--seed', '7', '--seq-len', '96', '--format', 'both'];
  const adamw = ['--model', modelDir('tiny-llama'), '--data', path('llama.jsonl'), '--steps', '4', '--batch', '2', '--grad-accum', '2', '--lr', '1e-2', '--targets', 'q_proj,k_proj,v_proj', '--dropout', '0.1', '--schedule', 'cosine', '--warmup', '1', '--clip', '1', '--format', 'both', '--seed', '3'];
  const [one, full, again] = await Promise.all([
    lm(['train', ...sgd, ...lora, '--threads', '1', '--out', path('sgd')]),
    lm(['train', ...adamw, '--checkpoint-every', '2', '--out', path('full')]),
    lm(['train', ...adamw, '--out', path('again')]),
  ]);
  const [resumed, fromAdapter] = await Promise.all([
    lm(['train', ...adamw, '--resume', path('full', 'checkpoint-2'), '--out', path('resumed')]),
    lm(['train', '--model', modelDir('tiny-llama'), '--data', path('llama.jsonl'), '--steps', '1', '--resume', adapterDir('tiny-llama'), '--out', path('cont')]),
  ]);
  runs = { one, full, again, resumed, fromAdapter };
}, 180_000);
afterAll(() => rm(tmp, { recursive: true, force: true }));

describe('lm train', () => {
  it('runs, prints each step and the truncation count, and writes PEFT + GGUF + a model card', () => {
    for (const [name, r] of Object.entries(runs)) expect(r.code, `${name}: ${r.stderr}`).toBe(0);
    expect(runs.one.stderr).toMatch(/data: 3 examples, 1 truncated to 96 tokens, 0 dropped/);
    expect(runs.one.stderr).toMatch(/^backend wasm \(SIMD\), 1 thread; model /m); // --threads 1
    expect(runs.full.stderr).toMatch(new RegExp(`^backend wasm \\(SIMD\\), ${nodeThreadChoice(null).threads} threads?; model `, 'm')); // every core (up to the threaded build's most)
    expect(runs.one.stderr).toMatch(/step 1\/1 {2}loss \d+\.\d{4} {2}lr 5\.00e-1/);
    expect(runs.full.stderr.match(/^step \d\/4 /gm)).toHaveLength(4);
    expect(runs.one.stdout.trim().split('\n').map((l) => l.split('/').pop())).toEqual(['adapter_config.json', 'adapter_model.safetensors', 'adapter.gguf', 'README.md']);
  });

  it('writes adapter_config.json and adapter_model.safetensors as PEFT does', async () => {
    const model = fixtureModelConfig('tiny-qwen2');
    const cfg = JSON.parse(await readFile(path('sgd', 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    expect(cfg).toMatchObject({
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      r: 2,
      lora_alpha: 4,
      lora_dropout: 0,
      bias: 'none',
      fan_in_fan_out: false,
      use_rslora: false,
      use_dora: false,
      inference_mode: true,
      base_model_name_or_path: 'model', // the folder's name (…/tiny-qwen2/model), never its path
      target_modules: [...PROJECTIONS],
    });
    const st = readSafetensorsIndependently(await readFile(path('sgd', 'adapter_model.safetensors')));
    expect(st.metadata).toEqual({ format: 'pt' });
    expect(st.tensors.size).toBe(model.numLayers * PROJECTIONS.length * 2);
    for (let layer = 0; layer < model.numLayers; layer++) {
      for (const proj of PROJECTIONS) {
        const group = proj.startsWith('gate') || proj.startsWith('up') || proj.startsWith('down') ? 'mlp' : 'self_attn';
        const key = `base_model.model.model.layers.${layer}.${group}.${proj}`;
        const { inFeatures, outFeatures } = projectionDims(model, proj);
        expect(st.tensors.get(`${key}.lora_A.weight`)?.shape, key).toEqual([2, inFeatures]);
        expect(st.tensors.get(`${key}.lora_B.weight`)?.shape, key).toEqual([outFeatures, 2]);
        expect(st.tensors.get(`${key}.lora_A.weight`)?.dtype).toBe('F32');
      }
    }
    expect(await readFile(path('sgd', 'README.md'), 'utf8')).toMatch(/Optimizer steps \| 1 \|/);
  });

  it('one SGD step equals −lr · the LoRA gradient computed independently on the same batch', async () => {
    await useNodeBackend('wasm');
    const model = await loadModel(await nodeDirSource(modelDir('tiny-qwen2')));
    const config = { r: 2, alpha: 4, dropout: 0, rslora: false, targetModules: [...PROJECTIONS], layers: null };
    const lora = initLora(config, model.config, 7);
    const { examples, report } = encodeSftRows(parseJsonl(jsonl(QWEN_ROWS)), model.tokenizer, { seqLen: 96 });
    expect(report.truncated).toBe(1);
    const T = Math.max(...examples.map((e) => e.inputIds.length));
    const batch = padSequences(examples, T, 0);
    const ids = tf.tensor2d(batch.inputIds, [batch.rows, T], 'int32');
    const labels = tf.tensor2d(batch.labels, [batch.rows, T], 'int32');
    const params = loraParamMap(lora);
    const head = model.weights.lmHead ?? model.weights.embedding;
    const { grads } = tf.variableGrads(() => causalLmLossFromHidden(forwardHidden(model, ids, { linears: loraLinears(lora) }), head, labels), [...params.values()]);
    const written = readSafetensorsIndependently(await readFile(path('sgd', 'adapter_model.safetensors')));
    let checkedB = 0;
    for (const [name, v] of params) {
      const got = written.tensors.get(name)!.values;
      const before = v.dataSync() as Float32Array;
      const g = grads[v.name].dataSync() as Float32Array;
      if (name.includes('lora_A')) {
        // B starts at zero, so A gets no gradient in the first step: its initial values are written.
        expect(Array.from(got), name).toEqual(Array.from(before));
      } else {
        const want = Float32Array.from(g, (x, i) => before[i] - 0.5 * x);
        expect(Math.max(...Array.from(want, Math.abs)), name).toBeGreaterThan(0);
        expect(maxRelError(got, want), name).toBeLessThan(1e-4);
        checkedB++;
      }
    }
    expect(checkedB).toBe(model.config.numLayers * PROJECTIONS.length);
    tf.dispose([ids, labels, ...Object.values(grads)]);
    disposeLora(lora);
    model.dispose();
  });

  it('writes a GGUF LoRA that parses back with every name, shape and value (llama: q/k rows permuted)', async () => {
    for (const [dir, fixture, permuted] of [['sgd', 'tiny-qwen2', false], ['full', 'tiny-llama', true]] as const) {
      const model = fixtureModelConfig(fixture);
      const bytes = await readFile(path(dir, 'adapter.gguf'));
      const parsed = await gguf(path(dir, 'adapter.gguf'), { allowLocalFile: true });
      const md = parsed.metadata as unknown as Record<string, unknown>;
      const cfg = JSON.parse(await readFile(path(dir, 'adapter_config.json'), 'utf8')) as { lora_alpha: number };
      expect(md['general.architecture']).toBe(model.architecture);
      expect(md['general.type']).toBe('adapter');
      expect(md['adapter.type']).toBe('lora');
      expect(md['adapter.lora.alpha']).toBe(cfg.lora_alpha);
      const st = readSafetensorsIndependently(await readFile(path(dir, 'adapter_model.safetensors')));
      expect(parsed.tensorInfos.length).toBe(st.tensors.size);
      const gg: Record<string, string> = { q_proj: 'attn_q', k_proj: 'attn_k', v_proj: 'attn_v', o_proj: 'attn_output', gate_proj: 'ffn_gate', up_proj: 'ffn_up', down_proj: 'ffn_down' };
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (const info of parsed.tensorInfos) {
        const m = /^blk\.(\d+)\.(\w+)\.weight\.lora_([ab])$/.exec(info.name);
        expect(m, info.name).not.toBeNull();
        const proj = Object.keys(gg).find((k) => gg[k] === m![2])!;
        const group = ['gate_proj', 'up_proj', 'down_proj'].includes(proj) ? 'mlp' : 'self_attn';
        const src = st.tensors.get(`base_model.model.model.layers.${m![1]}.${group}.${proj}.lora_${m![3].toUpperCase()}.weight`)!;
        expect(info.shape.map(Number), info.name).toEqual([...src.shape].reverse());
        expect(info.dtype).toBe(0);
        const at = Number(parsed.tensorDataOffset + info.offset);
        const values = Float32Array.from({ length: src.values.length }, (_, i) => dv.getFloat32(at + 4 * i, true));
        let want = src.values;
        if (permuted && m![3] === 'b' && (proj === 'q_proj' || proj === 'k_proj')) {
          // llama.cpp's rotary layout: per head, row (half j, index i) moves to row 2i + j.
          const [rows, cols] = src.shape;
          const heads = proj === 'q_proj' ? model.numHeads : model.numKvHeads;
          const hd = rows / heads;
          want = new Float32Array(src.values.length);
          for (let h = 0; h < heads; h++) for (let j = 0; j < 2; j++) for (let i = 0; i < hd / 2; i++) {
            want.set(src.values.subarray((h * hd + j * (hd / 2) + i) * cols, (h * hd + j * (hd / 2) + i + 1) * cols), (h * hd + 2 * i + j) * cols);
          }
        }
        expect(Array.from(values), info.name).toEqual(Array.from(want));
      }
    }
  });

  it('the same seed gives identical files, and a run resumed from a checkpoint ends where the uninterrupted one did', async () => {
    const full = await readFile(path('full', 'adapter_model.safetensors'));
    expect((await readFile(path('again', 'adapter_model.safetensors'))).equals(full)).toBe(true);
    expect((await readFile(path('again', 'adapter.gguf'))).equals(await readFile(path('full', 'adapter.gguf')))).toBe(true);
    expect((await readFile(path('resumed', 'adapter_model.safetensors'))).equals(full)).toBe(true);
    expect(runs.resumed.stderr.match(/^step \d\/4 /gm)).toEqual(['step 3/4 ', 'step 4/4 ']);
  });

  it('--resume from a PEFT adapter keeps its r, alpha and targets', async () => {
    const cfg = JSON.parse(await readFile(path('cont', 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    expect(cfg).toMatchObject({ r: 4, lora_alpha: 8 });
    expect((cfg.target_modules as string[]).sort()).toEqual([...PROJECTIONS].sort());
  });

  it('refuses bad flags and data with messages that say what to do (exit code 2)', async () => {
    const base = ['train', '--model', modelDir('tiny-llama'), '--data', path('llama.jsonl'), '--out', path('x')];
    const cases: Array<[string[], RegExp]> = [
      [[...base, '--epochs', '1', '--steps', '2'], /--epochs or --steps, not both/],
      [[...base, '--method', 'ppo'], /--method must be sft, dpo/],
      [[...base, '--targets', 'q_proj,lm_head'], /unknown module "lm_head"/],
      [[...base, '--resume', adapterDir('tiny-llama'), '--rank', '8'], /--rank 8 \(the adapter has r=4\)/],
      [['train', '--model', modelDir('tiny-llama'), '--data', path('bad.jsonl'), '--out', path('x')], /Line 2: a prompt-completion row needs both "prompt" and "completion"/],
      [[...base, '--method', 'dpo', '--steps', '1'], /Line 1: DPO needs preference rows/],
    ];
    const results = await Promise.all(cases.map(([args]) => lm(args)));
    results.forEach((r, i) => {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(cases[i][1]);
    });
  });
});

/** PEFT adapters: loading for inference, config validation, and naming the first tensor that does not fit. */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useNodeBackend } from '../../src/cli/node-backend.ts';
import { AppError } from '../../src/core/errors.ts';
import { bytesSource } from '../../src/core/io/byte-source.ts';
import { nodeDirSource } from '../../src/core/io/node-dir.ts';
import { SafetensorsFile } from '../../src/core/io/safetensors.ts';
import { disposeLora, loadPeftAdapter, parsePeftConfig, validateAdapter } from '../../src/core/lora/peft-load.ts';
import { parseModelConfig } from '../../src/core/model/config.ts';
import type { ModelConfig } from '../../src/core/model/types.ts';
import { adapterDir, modelDir } from '../fixtures/reference.ts';
import { safetensorsBytes, type TestTensor } from '../fixtures/safetensors-bytes.ts';
import { memorySource } from '../fixtures/tiny-models.ts';

let llama: ModelConfig;
let qwen2: ModelConfig;
beforeAll(async () => {
  await useNodeBackend('cpu');
  llama = parseModelConfig(JSON.parse(await readFile(join(modelDir('tiny-llama'), 'config.json'), 'utf8')));
  qwen2 = parseModelConfig(JSON.parse(await readFile(join(modelDir('tiny-qwen2'), 'config.json'), 'utf8')));
});

async function adapterFiles(): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  for (const f of await readdir(adapterDir('tiny-llama'))) files.set(f, new Uint8Array(await readFile(join(adapterDir('tiny-llama'), f))));
  return files;
}

async function adapterTensors(): Promise<Record<string, TestTensor>> {
  const files = await adapterFiles();
  const st = await SafetensorsFile.open(bytesSource('adapter_model.safetensors', files.get('adapter_model.safetensors')!));
  const out: Record<string, TestTensor> = {};
  for (const n of st.names()) {
    const t = await st.read(n);
    out[n] = { dtype: 'F32', shape: t.shape, data: t.values.data };
  }
  return out;
}

async function refusal(p: Promise<unknown>): Promise<AppError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  if (!(e instanceof AppError)) throw new Error(`expected an AppError, got ${String(e)}`);
  return e;
}

describe('loading', () => {
  const before = { n: 0 };
  afterAll(() => expect(tf.memory().numTensors).toBe(before.n));

  it('loads the fixture adapter: every module of every layer, PEFT layouts, scaling alpha / r', async () => {
    before.n = tf.memory().numTensors;
    const lora = await loadPeftAdapter(await nodeDirSource(adapterDir('tiny-llama')), llama);
    expect(lora.config).toEqual({ r: 4, alpha: 8, dropout: 0, rslora: false, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'], layers: null });
    expect(lora.scaling).toBe(2);
    expect(lora.baseModel).toBe('tiny');
    expect(lora.modules.size).toBe(2 * 7);
    const q = lora.modules.get('model.layers.1.self_attn.q_proj')!;
    expect(q.a.shape).toEqual([4, 64]);
    expect(q.b.shape).toEqual([64, 4]);
    expect(lora.modules.get('model.layers.0.mlp.down_proj')!.a.shape).toEqual([4, 160]);
    validateAdapter(llama, lora);
    disposeLora(lora);
  });
});

describe('adapter_config.json', () => {
  const good = { peft_type: 'LORA', r: 8, lora_alpha: 16, target_modules: ['q_proj', 'v_proj'], bias: 'none' };

  it('reads rsLoRA, all-linear and layers_to_transform', () => {
    expect(parsePeftConfig({ ...good, use_rslora: true }).lora).toMatchObject({ rslora: true, r: 8, alpha: 16 });
    expect(parsePeftConfig({ ...good, target_modules: 'all-linear' }).lora.targetModules).toHaveLength(7);
    expect(parsePeftConfig({ ...good, layers_to_transform: [0, 2] }).lora.layers).toEqual([0, 2]);
  });

  it('refuses what it would not apply exactly', () => {
    for (const [patch, message] of [
      [{ peft_type: 'IA3' }, /unsupported: peft_type "IA3"/],
      [{ use_dora: true }, /unsupported: use_dora/],
      [{ bias: 'all' }, /unsupported: bias "all"/],
      [{ target_modules: ['q_proj', 'lm_head'] }, /unsupported: target module "lm_head"/],
      [{ target_modules: '.*attn.*' }, /unsupported: target_modules ".\*attn.\*"/],
      [{ rank_pattern: { q_proj: 4 } }, /unsupported: rank_pattern/],
      [{ fan_in_fan_out: true }, /unsupported: fan_in_fan_out/],
    ] as const) {
      const e = catchSync(() => parsePeftConfig({ ...good, ...patch }));
      expect(e.code).toBe('unsupported');
      expect(e.message).toMatch(message);
    }
    for (const [patch, message] of [
      [{ r: 0 }, /r is 0/],
      [{ lora_alpha: 'x' }, /lora_alpha is "x"/],
      [{ lora_dropout: 1 }, /lora_dropout is 1/],
    ] as const) {
      const e = catchSync(() => parsePeftConfig({ ...good, ...patch }));
      expect(e.code).toBe('bad-input');
      expect(e.message).toMatch(message);
    }
  });
});

describe('mismatches name the first bad tensor (AppError "adapter-mismatch")', () => {
  async function mismatch(edit: (t: Record<string, TestTensor>) => Record<string, TestTensor>, model: () => ModelConfig = () => llama): Promise<AppError> {
    const files = await adapterFiles();
    files.set('adapter_model.safetensors', safetensorsBytes(edit(await adapterTensors())));
    const before = tf.memory().numTensors;
    const e = await refusal(loadPeftAdapter(memorySource('adapter', files), model()));
    expect(tf.memory().numTensors).toBe(before);
    return e;
  }
  const rename = (t: Record<string, TestTensor>, from: string, to: string): Record<string, TestTensor> =>
    Object.fromEntries(Object.entries(t).map(([k, v]) => [k === from ? to : k, v]));
  const A0 = 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight';

  it('an adapter trained for another model (shapes do not fit)', async () => {
    const e = await mismatch((t) => t, () => qwen2);
    expect(e.code).toBe('adapter-mismatch');
    expect(e.message).toMatch(/tensor base_model.model.model.layers.0.mlp.down_proj.lora_A.weight has shape \[4, 160\], but r=4 on this model's down_proj needs \[4, 192\]/);
  });

  it('a misspelt key (PEFT would silently ignore it)', async () => {
    const e = await mismatch((t) => rename(t, A0, 'base_model.model.model.layers.0.self_attn.q_prj.lora_A.weight'));
    expect(e.message).toMatch(/tensor base_model.model.model.layers.0.self_attn.q_prj.lora_A.weight names module model.layers.0.self_attn.q_prj, which the model does not have/);
    const e2 = await mismatch((t) => rename(t, A0, 'base_model.model.layers.0.self_attn.q_proj.lora_A.weight'));
    expect(e2.message).toMatch(/tensor base_model.model.layers.0.self_attn.q_proj.lora_A.weight is not a LoRA weight of a decoder projection/);
  });

  it('a layer the model does not have, a module in the wrong block, a lone A', async () => {
    let e = await mismatch((t) => rename(t, A0, 'base_model.model.model.layers.7.self_attn.q_proj.lora_A.weight'));
    expect(e.message).toMatch(/is for layer 7, but the model has 2 layers/);
    e = await mismatch((t) => rename(t, A0, 'base_model.model.model.layers.0.mlp.q_proj.lora_A.weight'));
    expect(e.message).toMatch(/names module model.layers.0.mlp.q_proj, which the model does not have/);
    e = await mismatch((t) => {
      const { ['base_model.model.model.layers.1.mlp.up_proj.lora_B.weight']: _gone, ...rest } = t;
      return rest;
    });
    expect(e.message).toMatch(/tensor base_model.model.model.layers.1.mlp.up_proj.lora_A.weight has no matching lora_B tensor/);
  });

  it('a module target_modules does not list', async () => {
    const files = await adapterFiles();
    const cfg = JSON.parse(new TextDecoder().decode(files.get('adapter_config.json')));
    files.set('adapter_config.json', new TextEncoder().encode(JSON.stringify({ ...cfg, target_modules: ['q_proj', 'v_proj'] })));
    const e = await refusal(loadPeftAdapter(memorySource('narrow', files), llama));
    expect(e.message).toMatch(/layers.0.mlp.down_proj.lora_A.weight adapts down_proj, which target_modules in adapter_config.json does not list/);
  });

  it('validateAdapter checks adapters made in memory (e.g. by training)', () => {
    const pair = (a: [number, number], b: [number, number]) => ({ a: tf.zeros(a) as tf.Tensor2D, b: tf.zeros(b) as tf.Tensor2D });
    const config = { r: 2, alpha: 4, dropout: 0, rslora: false, targetModules: ['q_proj' as const], layers: null };
    const ok = { config, scaling: 2, modules: new Map([['model.layers.0.self_attn.q_proj', pair([2, 64], [64, 2])]]) };
    validateAdapter(llama, ok);
    const wrong = { config, scaling: 2, modules: new Map([['model.layers.0.self_attn.q_proj', pair([2, 64], [32, 2])]]) };
    const e = catchSync(() => validateAdapter(llama, wrong));
    expect(e.code).toBe('adapter-mismatch');
    expect(e.message).toMatch(/q_proj.lora_B.weight has shape \[32, 2\], but r=2 on this model's q_proj needs \[64, 2\]/);
    for (const l of [ok, wrong]) disposeLora(l);
  });
});

function catchSync(f: () => unknown): AppError {
  try {
    f();
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('expected an AppError');
}

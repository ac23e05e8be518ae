import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { disposeLora, initLora } from '../../src/core/lora/init.ts';
import { peftAdapterConfig, peftAdapterConfigJson, peftAdapterFiles } from '../../src/core/lora/peft-save.ts';
import type { LoraConfig } from '../../src/core/lora/types.ts';
import { PROJECTIONS } from '../../src/core/model/types.ts';
import { fixturesDir } from '../fixtures/paths.ts';
import { fixtureModelConfig, randomizeLora, readSafetensorsIndependently } from './train-helpers.ts';

const model = fixtureModelConfig('tiny-llama');
const fixtureAdapter = join(fixturesDir(), 'tiny-llama', 'adapter');

/** The keys PEFT 0.17 writes for a LoraConfig (json.dumps(sort_keys=True)). */
const PEFT_017_KEYS = [
  'alpha_pattern', 'auto_mapping', 'base_model_name_or_path', 'bias', 'corda_config', 'eva_config',
  'exclude_modules', 'fan_in_fan_out', 'inference_mode', 'init_lora_weights', 'layer_replication',
  'layers_pattern', 'layers_to_transform', 'loftq_config', 'lora_alpha', 'lora_bias', 'lora_dropout',
  'megatron_config', 'megatron_core', 'modules_to_save', 'peft_type', 'qalora_group_size', 'r', 'rank_pattern',
  'revision', 'target_modules', 'target_parameters', 'task_type', 'trainable_token_indices', 'use_dora',
  'use_qalora', 'use_rslora',
];

function config(over: Partial<LoraConfig> = {}): LoraConfig {
  return { r: 4, alpha: 8, dropout: 0, rslora: false, targetModules: [...PROJECTIONS], layers: null, ...over };
}

describe('PEFT adapter_config.json', () => {
  it('has every key PEFT writes, sorted and indented as json.dumps writes them', () => {
    const text = peftAdapterConfigJson(config({ dropout: 0.05 }), { baseModel: 'HuggingFaceTB/SmolLM2-135M-Instruct' });
    const parsed = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(PEFT_017_KEYS);
    expect(text.startsWith('{\n  "alpha_pattern": {},\n  "auto_mapping": null,\n')).toBe(true);
    expect(text).toContain('\n  "lora_dropout": 0.05,\n');
    expect(text).toContain('\n  "target_modules": [\n    "q_proj",\n    "k_proj",');
    expect(text.endsWith('\n  "use_rslora": false\n}')).toBe(true);
    expect(parsed).toMatchObject({
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      r: 4,
      lora_alpha: 8,
      bias: 'none',
      fan_in_fan_out: false,
      use_rslora: false,
      use_dora: false,
      inference_mode: true,
      base_model_name_or_path: 'HuggingFaceTB/SmolLM2-135M-Instruct',
      layers_to_transform: null,
      init_lora_weights: true,
    });
    expect(Number.isInteger(parsed.lora_alpha)).toBe(true);
  });

  it('writes floats and non-ASCII text as Python does', () => {
    const text = peftAdapterConfigJson(config({ dropout: 0 }), { baseModel: 'café/“x”' });
    expect(text).toContain('"lora_dropout": 0.0,');
    expect(text).toContain('"base_model_name_or_path": "caf\\u00e9/\\u201cx\\u201d",');
    expect(JSON.parse(text).base_model_name_or_path).toBe('café/“x”');
    expect(peftAdapterConfigJson(config({ dropout: 0.00001 }), { baseModel: 'b' })).toContain('"lora_dropout": 1e-05,');
  });

  it('maps a layer subset to layers_to_transform and rsLoRA to use_rslora', () => {
    const c = peftAdapterConfig(config({ layers: [3, 1], rslora: true, targetModules: ['v_proj', 'q_proj'] }), { baseModel: 'm' });
    expect(c.layers_to_transform).toEqual([1, 3]);
    expect(c.use_rslora).toBe(true);
    expect(c.target_modules).toEqual(['v_proj', 'q_proj']);
  });

  it("agrees with the fixture adapter's config on every key the fixture has", () => {
    const fixture = JSON.parse(readFileSync(join(fixtureAdapter, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    const ours = peftAdapterConfig(config(), { baseModel: 'tiny' });
    for (const [k, v] of Object.entries(fixture)) expect(ours[k], k).toEqual(v);
  });
});

describe('PEFT adapter_model.safetensors', () => {
  it("has exactly the fixture adapter's tensor names and shapes for the same settings, F32, format pt", async () => {
    const w = initLora(config(), model, 0);
    randomizeLora(w, 1);
    const files = await peftAdapterFiles(w, { baseModel: 'tiny' });
    expect([...files.keys()]).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
    const ours = readSafetensorsIndependently(files.get('adapter_model.safetensors')!);
    const fixture = readSafetensorsIndependently(new Uint8Array(readFileSync(join(fixtureAdapter, 'adapter_model.safetensors'))));
    expect(ours.metadata).toEqual({ format: 'pt' });
    expect([...ours.tensors.keys()].sort()).toEqual([...fixture.tensors.keys()].sort());
    expect([...ours.tensors.keys()]).toEqual([...ours.tensors.keys()].sort());
    for (const [name, t] of fixture.tensors) {
      expect(ours.tensors.get(name)!.shape, name).toEqual(t.shape);
      expect(ours.tensors.get(name)!.dtype).toBe('F32');
    }
    expect(ours.tensors.has('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight')).toBe(true);
    // values are the variables' values, exactly
    for (const [module, { a, b }] of w.modules) {
      expect(Array.from(ours.tensors.get(`base_model.model.${module}.lora_A.weight`)!.values)).toEqual(Array.from(await a.data()));
      expect(Array.from(ours.tensors.get(`base_model.model.${module}.lora_B.weight`)!.values)).toEqual(Array.from(await b.data()));
    }
    disposeLora(w);
  });
});

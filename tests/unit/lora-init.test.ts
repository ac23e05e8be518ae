import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/core/errors.ts';
import { disposeLora, initLora, loraModulePaths } from '../../src/core/lora/init.ts';
import type { LoraConfig } from '../../src/core/lora/types.ts';
import { fixtureModelConfig } from './train-helpers.ts';

const model = fixtureModelConfig('tiny-llama'); // hidden 64, intermediate 160, 4 heads / 2 kv heads, 2 layers

function config(over: Partial<LoraConfig> = {}): LoraConfig {
  return { r: 4, alpha: 8, dropout: 0, rslora: false, targetModules: ['q_proj', 'v_proj'], layers: null, ...over };
}

describe('initLora', () => {
  it('creates A kaiming-uniform (bound 1/√in) and B = 0 as trainable variables with PEFT shapes', async () => {
    const before = tf.memory().numTensors;
    const w = initLora(config({ targetModules: ['q_proj', 'k_proj', 'down_proj'], r: 8, alpha: 16 }), model, 0);
    expect(w.scaling).toBe(2);
    expect([...w.modules.keys()]).toEqual([
      'model.layers.0.self_attn.q_proj',
      'model.layers.0.self_attn.k_proj',
      'model.layers.0.mlp.down_proj',
      'model.layers.1.self_attn.q_proj',
      'model.layers.1.self_attn.k_proj',
      'model.layers.1.mlp.down_proj',
    ]);
    const q = w.modules.get('model.layers.0.self_attn.q_proj')!;
    const k = w.modules.get('model.layers.0.self_attn.k_proj')!;
    const down = w.modules.get('model.layers.0.mlp.down_proj')!;
    expect(q.a.shape).toEqual([8, 64]);
    expect(q.b.shape).toEqual([64, 8]);
    expect(k.b.shape).toEqual([32, 8]); // 2 kv heads × 16
    expect(down.a.shape).toEqual([8, 160]);
    expect(down.b.shape).toEqual([64, 8]);
    expect(q.a instanceof tf.Variable && (q.a as tf.Variable).trainable).toBe(true);
    expect(q.b instanceof tf.Variable && (q.b as tf.Variable).trainable).toBe(true);

    for (const [pair, fanIn] of [[q, 64], [down, 160]] as const) {
      const a = await pair.a.data();
      const bound = 1 / Math.sqrt(fanIn);
      let sum = 0;
      let sq = 0;
      for (const x of a) {
        expect(Math.abs(x)).toBeLessThanOrEqual(bound);
        sum += x;
        sq += x * x;
      }
      const mean = sum / a.length;
      const variance = sq / a.length - mean * mean;
      // U(−b, b): mean 0, variance b²/3
      expect(Math.abs(mean)).toBeLessThan(bound * 0.15);
      expect(variance / (bound * bound / 3)).toBeGreaterThan(0.8);
      expect(variance / (bound * bound / 3)).toBeLessThan(1.2);
      expect(Array.from(await pair.b.data()).every((x) => x === 0)).toBe(true);
    }
    disposeLora(w);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('is deterministic per seed and per module, whatever else is targeted', async () => {
    const w1 = initLora(config(), model, 7);
    const w2 = initLora(config(), model, 7);
    const w3 = initLora(config(), model, 8);
    const w4 = initLora(config({ targetModules: ['v_proj', 'o_proj', 'q_proj'] }), model, 7);
    const key = 'model.layers.1.self_attn.q_proj';
    const a1 = Array.from(await w1.modules.get(key)!.a.data());
    expect(Array.from(await w2.modules.get(key)!.a.data())).toEqual(a1);
    expect(Array.from(await w4.modules.get(key)!.a.data())).toEqual(a1);
    expect(Array.from(await w3.modules.get(key)!.a.data())).not.toEqual(a1);
    // different modules get different streams
    expect(Array.from(await w1.modules.get('model.layers.0.self_attn.q_proj')!.a.data())).not.toEqual(a1);
    for (const w of [w1, w2, w3, w4]) disposeLora(w);
  });

  it('adapts only the chosen layers and computes rsLoRA scaling', () => {
    const c = config({ layers: [1], rslora: true, r: 4, alpha: 8 });
    expect(loraModulePaths(c, model)).toEqual(['model.layers.1.self_attn.q_proj', 'model.layers.1.self_attn.v_proj']);
    const w = initLora(c, model, 0);
    expect(w.scaling).toBe(4); // 8 / √4
    disposeLora(w);
  });

  it('rejects bad configurations with a clear bad-input error', () => {
    const cases: Array<[Partial<LoraConfig>, RegExp]> = [
      [{ r: 0 }, /rank r must be a positive integer/],
      [{ r: 2.5 }, /rank r must be a positive integer/],
      [{ alpha: 0 }, /alpha must be a positive/],
      [{ alpha: 1.5 }, /alpha must be an integer/],
      [{ dropout: 1 }, /dropout must be in \[0, 1\)/],
      [{ targetModules: [] }, /at least one target module/],
      [{ targetModules: ['qq_proj' as never] }, /Unknown LoRA target module "qq_proj"/],
      [{ layers: [2] }, /layer 2 does not exist; the model has layers 0–1/],
      [{ layers: [] }, /layer list is empty/],
      [{ r: 65 }, /exceeds the smallest adapted dimension/],
    ];
    const before = tf.memory().numTensors;
    for (const [over, msg] of cases) {
      let err: unknown;
      try {
        initLora(config(over), model, 0);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(over)).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe('bad-input');
      expect((err as AppError).message).toMatch(msg);
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});

/**
 * Gradient checkpointing (src/core/train/checkpointed-grads.ts, used by the tfjs trainer when activations would not fit):
 * the loss and every LoRA gradient equal those of the ordinary pass (and the fixtures' float64 reference),
 * also with LoRA dropout (the recomputation draws the same masks) and with adapters on some layers only.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { useNodeBackend } from '../../src/cli/node-backend.ts';
import { nodeDirSource } from '../../src/core/io/node-dir.ts';
import { disposeLora, initLora, toVariable } from '../../src/core/lora/init.ts';
import { loadPeftAdapter } from '../../src/core/lora/peft-load.ts';
import type { LoraWeights } from '../../src/core/lora/types.ts';
import { checkpointedLoraGrads } from '../../src/core/train/checkpointed-grads.ts';
import { forwardHidden } from '../../src/core/model/llama.ts';
import { peftTensorName } from '../../src/core/lora/peft-names.ts';
import { loadModel } from '../../src/core/model/load.ts';
import { loraParamMap } from '../../src/core/train/lora-params.ts';
import { causalLmLossFromHidden } from '../../src/core/train/loss.ts';
import { loraGradFn } from '../../src/core/engine/tfjs/train-run.ts';
import { padSequences } from '../../src/core/train/batches.ts';
import { Rng } from '../../src/core/random/rng.ts';
import { fixturesDir } from '../fixtures/paths.ts';
import { maxRelError, randomizeLora } from './train-helpers.ts';
import { loraLinears } from '../../src/core/lora/linear.ts';

interface Reference {
  input_ids: number[][];
  labels: number[][];
  loss_adapted: number;
  grads: Record<string, number[][]>;
}

describe('gradient checkpointing', () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    it(`${backend}: same loss and LoRA gradients as the ordinary pass and the fixtures, with dropout and partial layers`, async () => {
      await useNodeBackend(backend);
      const root = join(fixturesDir(), 'tiny-qwen2');
      const ref = JSON.parse(readFileSync(join(root, 'reference.json'), 'utf8')) as Reference;
      const model = await loadModel(await nodeDirSource(join(root, 'model')));
      const file = await loadPeftAdapter(await nodeDirSource(join(root, 'adapter')), model.config);
      const fixture: LoraWeights = { config: file.config, scaling: file.scaling, modules: new Map() };
      for (const [path, { a, b }] of file.modules) fixture.modules.set(path, { a: toVariable(tf.clone(a)), b: toVariable(tf.clone(b)) });
      disposeLora(file);
      const partial = initLora({ r: 2, alpha: 4, dropout: 0.3, rslora: false, targetModules: ['k_proj', 'up_proj'], layers: [1] }, model.config, 5);
      randomizeLora(partial, 9);
      const [B, T] = [ref.input_ids.length, ref.input_ids[0].length];
      const ids = tf.tensor2d(ref.input_ids.flat(), [B, T], 'int32');
      const labels = tf.tensor2d(ref.labels.flat(), [B, T], 'int32');
      const head = model.weights.lmHead ?? model.weights.embedding;
      const run = (lora: LoraWeights, checkpoint: boolean, training: boolean) => {
        const params = loraParamMap(lora);
        const opts = { training: training ? { dropoutSeed: 77 } : null };
        if (checkpoint) {
          const { value, grads } = checkpointedLoraGrads(model, ids, lora, opts, (h) => causalLmLossFromHidden(h, head, labels, 8));
          const byName = new Map<string, Float32Array>();
          for (const [module, g] of grads) {
            byName.set(peftTensorName(module, 'A'), Float32Array.from(g.a.dataSync()));
            byName.set(peftTensorName(module, 'B'), Float32Array.from(g.b.dataSync()));
            tf.dispose([g.a, g.b]);
          }
          const loss = value.dataSync()[0];
          value.dispose();
          return { loss, grads: byName };
        }
        const { value, grads } = tf.variableGrads(
          () => causalLmLossFromHidden(forwardHidden(model, ids, { linears: loraLinears(lora, opts) }), head, labels, 8),
          [...params.values()],
        );
        const out = { loss: value.dataSync()[0], grads: new Map([...params].map(([name, v]) => [name, Float32Array.from(grads[v.name].dataSync())])) };
        tf.dispose([value, ...Object.values(grads)]);
        return out;
      };
      const before = tf.memory().numTensors;
      for (const [lora, training] of [[fixture, false], [partial, true]] as const) {
        const plain = run(lora, false, training);
        const ckpt = run(lora, true, training);
        expect(Math.abs(ckpt.loss - plain.loss)).toBeLessThan(1e-5);
        expect(ckpt.grads.size).toBe(plain.grads.size);
        for (const [name, g] of plain.grads) {
          expect(maxRelError(ckpt.grads.get(name)!, g), name).toBeLessThan(1e-4);
          if (lora === fixture) expect(maxRelError(ckpt.grads.get(name)!, ref.grads[name].flat()), name).toBeLessThan(1e-4);
        }
        if (lora === fixture) expect(Math.abs(ckpt.loss - ref.loss_adapted)).toBeLessThan(1e-4);
      }
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([ids, labels]);
      disposeLora(fixture);
      disposeLora(partial);
      model.dispose();
    });
  }
});

describe('loraGradFn (the trainer step): checkpointed equals plain, SFT and DPO', () => {
  it('gives the same loss and gradients either way, drawing the same dropout seed', async () => {
    await useNodeBackend('wasm');
    const model = await loadModel(await nodeDirSource(join(fixturesDir(), 'tiny-llama', 'model')));
    const lora = initLora({ r: 4, alpha: 8, dropout: 0.2, rslora: false, targetModules: ['q_proj', 'v_proj', 'down_proj'], layers: null }, model.config, 1);
    randomizeLora(lora, 4);
    const seq = (n: number, off: number) => ({ inputIds: Int32Array.from({ length: n }, (_, i) => (i * 13 + off) % 300), labels: Int32Array.from({ length: n }, (_, i) => (i < 3 ? -100 : (i * 13 + off) % 300)) });
    const sft = padSequences([seq(10, 1), seq(7, 2), seq(12, 3)], 16, 0);
    const pref = { ...padSequences([seq(9, 4), seq(11, 5), seq(8, 6), seq(12, 7)], 16, 0), pairs: 2, weight: 2 };
    const collect = (r: { value: tf.Scalar; grads: Map<string, tf.Tensor> }) => {
      const out = { loss: r.value.dataSync()[0], grads: new Map([...r.grads].map(([k, g]) => [k, Float32Array.from(g.dataSync())])) };
      tf.dispose([r.value, ...r.grads.values()]);
      return out;
    };
    for (const [method, batch] of [['sft', sft], ['dpo', pref]] as const) {
      const results = [false, true].map((checkpoint) => {
        const fn = method === 'sft' ? loraGradFn(model, lora, 'sft', 0.1, { checkpoint }) : loraGradFn(model, lora, 'dpo', 0.1, { checkpoint });
        const rng = Rng.fromSeed(42);
        return { out: collect((fn as (b: typeof pref, c: { step: number; microStep: number; rng: Rng }) => { value: tf.Scalar; grads: Map<string, tf.Tensor> })(batch as typeof pref, { step: 0, microStep: 0, rng })), next: rng.nextUint32() };
      });
      const [plain, ckpt] = results;
      expect(ckpt.next, `${method}: same RNG use`).toBe(plain.next);
      expect(Math.abs(ckpt.out.loss - plain.out.loss), method).toBeLessThan(1e-5);
      expect(ckpt.out.grads.size).toBe(lora.modules.size * 2);
      for (const [name, g] of plain.out.grads) expect(maxRelError(ckpt.out.grads.get(name)!, g), `${method} ${name}`).toBeLessThan(1e-4);
    }
    disposeLora(lora);
    model.dispose();
  });
});

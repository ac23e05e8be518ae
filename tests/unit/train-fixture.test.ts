/**
 * The training half against the runtime: adapters written by peft-save load back through the runtime's PEFT
 * loader, and the causal-LM loss over the runtime's forward pass reproduces the fixtures' reference loss and
 * LoRA gradients (computed in float64 by an independent implementation of HF + PEFT).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { nodeDirSource } from '../../src/core/io/node-dir.ts';
import { writeFilesToFolder } from '../../src/core/lora/export-node.ts';
import { disposeLora, initLora, toVariable } from '../../src/core/lora/init.ts';
import { loadPeftAdapter } from '../../src/core/lora/peft-load.ts';
import { peftAdapterFiles } from '../../src/core/lora/peft-save.ts';
import type { LoraWeights } from '../../src/core/lora/types.ts';
import { forward, forwardHidden } from '../../src/core/model/llama.ts';
import { loadModel } from '../../src/core/model/load.ts';
import type { TokenBatch } from '../../src/core/train/batches.ts';
import { causalLmLossFromHidden } from '../../src/core/train/loss.ts';
import { loraParamMap } from '../../src/core/train/lora-params.ts';
import { sftLossFn, type LogitsFn } from '../../src/core/train/objectives.ts';
import { Rng } from '../../src/core/random/rng.ts';
import { FIXTURE_MODELS, fixturesDir } from '../fixtures/paths.ts';
import { fixtureModelConfig, maxRelError, randomizeLora } from './train-helpers.ts';
import { loraLinears } from '../../src/core/lora/linear.ts';

const dir = mkdtempSync(join(tmpdir(), 'train-fixture-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('PEFT export → runtime PEFT loader', () => {
  it('loads back with the same configuration and the same tensors', async () => {
    const model = fixtureModelConfig('tiny-qwen2');
    const config = { r: 4, alpha: 16, dropout: 0.05, rslora: true, targetModules: ['q_proj' as const, 'down_proj' as const], layers: [0, 2] };
    const w = initLora(config, model, 1);
    randomizeLora(w, 3);
    await writeFilesToFolder(join(dir, 'rt'), await peftAdapterFiles(w, { baseModel: 'fixtures/tiny-qwen2' }));
    const loaded = await loadPeftAdapter(await nodeDirSource(join(dir, 'rt')), model);
    expect(loaded.config).toEqual(config);
    expect(loaded.scaling).toBe(w.scaling);
    expect(loaded.baseModel).toBe('fixtures/tiny-qwen2');
    expect([...loaded.modules.keys()].sort()).toEqual([...w.modules.keys()].sort());
    for (const [path, { a, b }] of w.modules) {
      const l = loaded.modules.get(path)!;
      expect(Array.from(l.a.dataSync())).toEqual(Array.from(a.dataSync()));
      expect(Array.from(l.b.dataSync())).toEqual(Array.from(b.dataSync()));
    }
    disposeLora(loaded);
    disposeLora(w);
  });
});

describe('loss and LoRA gradients over the runtime forward pass', () => {
  for (const name of FIXTURE_MODELS) {
    it(`match ${name}'s reference loss_adapted and grads within 1e-4`, async () => {
      const root = join(fixturesDir(), name);
      const ref = JSON.parse(readFileSync(join(root, 'reference.json'), 'utf8')) as {
        input_ids: number[][];
        labels: number[][];
        loss_adapted: number;
        grads: Record<string, number[][]>;
      };
      const model = await loadModel(await nodeDirSource(join(root, 'model')));
      const file = await loadPeftAdapter(await nodeDirSource(join(root, 'adapter')), model.config);
      // trainable copies of the adapter
      const lora: LoraWeights = { config: file.config, scaling: file.scaling, modules: new Map() };
      for (const [path, { a, b }] of file.modules) lora.modules.set(path, { a: toVariable(tf.clone(a)), b: toVariable(tf.clone(b)) });
      disposeLora(file);
      const params = loraParamMap(lora);
      const logitsFn: LogitsFn = (ids, o) =>
        forward(model, ids, { linears: o.adapter ? loraLinears(lora, { training: o.training ? { dropoutSeed: o.seed ?? 0 } : null }) : null });
      const [B, T] = [ref.input_ids.length, ref.input_ids[0].length];
      const batch: TokenBatch = {
        inputIds: Int32Array.from(ref.input_ids.flat()),
        labels: Int32Array.from(ref.labels.flat()),
        rows: B,
        seqLen: T,
        tokens: B * T,
        weight: 0,
      };
      const lossFn = sftLossFn(logitsFn);
      const vars = [...params.values()];
      const byVar = new Map(vars.map((v, i) => [v.name, [...params.keys()][i]]));
      const ids = tf.tensor2d(batch.inputIds, [B, T], 'int32');
      const labels = tf.tensor2d(batch.labels, [B, T], 'int32');
      const head = model.weights.lmHead ?? model.weights.embedding; // [H, V]
      const ways: Array<[string, () => tf.Scalar]> = [
        ['full logits (sftLossFn)', () => lossFn(batch, { step: 0, microStep: 0, rng: Rng.fromSeed(0) })],
        ['hidden states + chunked head', () => causalLmLossFromHidden(forwardHidden(model, ids, { linears: loraLinears(lora) }), head, labels, 5)],
      ];
      for (const [way, f] of ways) {
        const { value, grads } = tf.variableGrads(f, vars);
        expect(Math.abs(value.dataSync()[0] - ref.loss_adapted), way).toBeLessThan(1e-4);
        let checked = 0;
        for (const [varName, g] of Object.entries(grads)) {
          const key = byVar.get(varName)!;
          const expected = ref.grads[key];
          expect(expected, key).toBeDefined();
          expect(maxRelError(g.dataSync(), expected.flat()), `${way}: ${key}`).toBeLessThan(1e-4);
          checked++;
        }
        expect(checked).toBe(Object.keys(ref.grads).length);
        tf.dispose([value, ...Object.values(grads)]);
      }
      tf.dispose([ids, labels]);
      disposeLora(lora);
      model.dispose();
    });
  }
});

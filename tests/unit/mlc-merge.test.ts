/**
 * mergeIntoMlc → reload → the adapted logits of the PEFT path (the same base with the adapter applied as
 * LoRA by the runtime):
 * - q0f32 exactly (≤ 1e-4, and the fixtures' float64 adapted reference ≤ 1e-3), q0f16 to float16 precision
 *   (≤ 2e-3 of the largest logit);
 * - q4: within the stated bound, with the retention figure (logit change kept, on held-out rows) printed
 *   per fixture and quantization; parameters no adapter touches keep the base's bytes exactly.
 * Fixture adapters for tiny-llama and tiny-qwen2; seeded random adapters on all seven projections for the
 * random qwen3 and the toy model. A wrong adapter is refused with adapter-mismatch.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { nodeDirSource } from '../../src/core/io/node-dir.ts';
import { disposeLora, initLora } from '../../src/core/lora/init.ts';
import { loadPeftAdapter } from '../../src/core/lora/peft-load.ts';
import { loraToPlain } from '../../src/core/lora/tensor-data.ts';
import { PROJECTIONS } from '../../src/core/model/types.ts';
import type { LoraWeights } from '../../src/core/lora/types.ts';
import { loadMlcModel } from '../../src/core/mlc/load.ts';
import { mergeIntoMlc } from '../../src/core/mlc/merge.ts';
import { openMlcModel } from '../../src/core/mlc/read.ts';
import { heldOutRows, measureRetention } from '../../src/core/mlc/retention.ts';
import { MLC_QUANTIZATIONS, type MlcQuantization } from '../../src/core/mlc/types.ts';
import { adapterDir, maxAbsDiff, reference } from '../fixtures/reference.ts';
import { logitsOf, maxAbs, MLC_FIXTURES, mlcFiles, mlcSource, testRows, type MlcFixture } from './mlc-helpers.ts';
import { randomizeLora } from './train-helpers.ts';
import type { ModelConfig } from '../../src/core/model/types.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

async function adapterFor(name: MlcFixture, config: ModelConfig): Promise<LoraWeights> {
  if (name === 'tiny-llama' || name === 'tiny-qwen2') return loadPeftAdapter(await nodeDirSource(adapterDir(name)), config);
  const w = initLora({ r: 4, alpha: 8, dropout: 0, rslora: false, targetModules: [...PROJECTIONS], layers: null }, config, 7);
  randomizeLora(w, 11);
  // A trained adapter's change is small next to the weights: scale B down to ~1% of a weight's size.
  for (const { b } of w.modules.values()) (b as unknown as tf.Variable).assign(tf.mul(b, 0.02));
  return w;
}

/**
 * The q4 merge bound, on held-out rows (measureRetention): `kept` = share of the adapter's logit change the
 * requantized merge keeps, `residual` = ‖merged − (base + adapter)‖ / ‖adapter's change‖. Measured (q4f16_1
 * / q4f32_1): tiny-llama kept 0.975 / 0.975, residual 0.281 / 0.277; tiny-qwen2 0.939 / 0.938, 0.383 / 0.386;
 * tiny-qwen3 0.351 / 0.349, 0.969 / 0.973; toy-arith 0.146 / 0.146, 1.242 / 1.246 (the model rebuilt with the
 * critic view, whose wider weights make a 4-bit step coarser; 0.326 / 0.361, 0.946 / 0.948 before). The fixture adapters move
 * weights by about a quantization step and mostly survive; the small seeded adapters (B at 2% of a weight)
 * change weights by less than half a step, so requantizing rounds most of the change away. Bounds: the
 * measured figures with ~10% margin.
 */
const Q4_BOUND: Record<MlcFixture, { minKept: number; maxResidual: number }> = {
  'tiny-llama': { minKept: 0.95, maxResidual: 0.31 },
  'tiny-qwen2': { minKept: 0.9, maxResidual: 0.42 },
  'tiny-qwen3': { minKept: 0.3, maxResidual: 1.05 },
  'toy-arith': { minKept: 0.13, maxResidual: 1.37 },
};

const figures: string[] = [];

describe('mergeIntoMlc → reload → adapted logits', () => {
  for (const name of MLC_FIXTURES) {
    for (const q of MLC_QUANTIZATIONS) {
      it(`${name} ${q}`, async () => {
        const baseFiles = await mlcFiles(name, q);
        const base = await openMlcModel(mlcSource(`${name}-${q}-base`, baseFiles));
        const baseModel = await loadMlcModel(base.source);
        const lora = await adapterFor(name, baseModel.config);
        try {
          const { files, report } = await mergeIntoMlc(base, { modules: await loraToPlain(lora), scaling: lora.scaling });
          expect(report.quantization).toBe(q);
          expect(report.mergedModules).toBe(lora.modules.size);
          const merged = await loadMlcModel(mlcSource(`${name}-${q}-merged`, files));
          const rows = testRows(name);
          const peft = await logitsOf(baseModel, rows, lora);
          const got = await logitsOf(merged, rows);
          const before = await logitsOf(baseModel, rows);
          const change = maxAbs(peft, before);
          const err = maxAbs(got, peft);
          const retention = await measureRetention(baseModel, lora, merged, heldOutRows(baseModel.config.vocabSize));
          const hasReference = name === 'tiny-llama' || name === 'tiny-qwen2';
          const refLogits = hasReference ? await logitsOf(merged, reference(name).input_ids) : null;
          merged.dispose();
          figures.push(
            `${name.padEnd(10)} ${q.padEnd(8)} max|Δ merged − PEFT| ${err.toExponential(2)} (adapter moves logits by up to ${change.toFixed(3)}), ` +
              `weights kept ${report.weightKept.toFixed(4)} (error ${report.weightError.toFixed(4)}), logits kept ${retention.kept.toFixed(4)} (residual ${retention.residual.toFixed(4)})`,
          );
          if (q === 'q0f32') {
            expect(report.exact).toBe(true);
            expect(err).toBeLessThanOrEqual(1e-4);
            expect(Math.abs(retention.kept - 1)).toBeLessThan(1e-3);
            if (refLogits && hasReference) {
              // The fixtures' float64 reference of HF + PEFT with this adapter.
              const V = baseModel.config.vocabSize;
              const shaped = reference(name).input_ids.map((r, i) => r.map((_, t) => Array.from(refLogits.subarray((i * r.length + t) * V, (i * r.length + t + 1) * V))));
              expect(maxAbsDiff(shaped, reference(name).logits_adapted)).toBeLessThan(1e-3);
            }
          } else if (q === 'q0f16') {
            // Exact to float16 precision: the merged weights are rounded to float16 (2⁻¹¹ relative).
            expect(report.exact).toBe(true);
            expect(err).toBeLessThanOrEqual(2e-3 * maxAbs(peft, new Float32Array(peft.length)));
            expect(Math.abs(retention.kept - 1)).toBeLessThan(1e-2);
          } else {
            expect(report.exact).toBe(false);
            expect(retention.kept, 'logit change kept').toBeGreaterThanOrEqual(Q4_BOUND[name].minKept);
            expect(retention.residual, 'residual').toBeLessThanOrEqual(Q4_BOUND[name].maxResidual);
            expect(report.weightKept, 'weights kept').toBeGreaterThan(0);
            // Parameters no adapter touches keep the base's bytes.
            const baseTc = base.tensorCache.records.flatMap((s) => s.records.map((r) => ({ r, s })));
            const mergedModel = await openMlcModel(mlcSource(`${name}-${q}-check`, files));
            for (const { r, s } of baseTc) {
              if (/qkv_proj|c_attn|o_proj|gate_up_proj|down_proj/.test(r.name) && !r.name.endsWith('bias')) continue;
              const m = mergedModel.locations.get(r.name)!;
              const a = baseFiles.get(s.dataPath)!.subarray(r.byteOffset, r.byteOffset + r.nbytes);
              const b = files.get(m.shard.dataPath)!.subarray(m.record.byteOffset, m.record.byteOffset + m.record.nbytes);
              expect(Buffer.from(b).equals(Buffer.from(a)), r.name).toBe(true);
            }
          }
        } finally {
          disposeLora(lora);
          baseModel.dispose();
        }
      }, 60_000);
    }
  }

  it('prints the figures', () => {
    console.log(`MLC merge (merged model against base + adapter as LoRA):\n${figures.join('\n')}`);
    expect(figures.length).toBe(MLC_FIXTURES.length * MLC_QUANTIZATIONS.length);
  });

  it('refuses an adapter made for another model', async () => {
    const base = await openMlcModel(mlcSource('llama-q4-mismatch', await mlcFiles('tiny-llama', 'q4f16_1' as MlcQuantization)));
    const qwenModel = await loadMlcModel(mlcSource('qwen-for-adapter', await mlcFiles('tiny-qwen2', 'q0f32')));
    const lora = await loadPeftAdapter(await nodeDirSource(adapterDir('tiny-qwen2')), qwenModel.config);
    qwenModel.dispose();
    await expect(mergeIntoMlc(base, { modules: await loraToPlain(lora), scaling: lora.scaling })).rejects.toMatchObject({ code: 'adapter-mismatch' });
    disposeLora(lora);
  });
});

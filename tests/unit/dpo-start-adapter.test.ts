/**
 * DPO that starts from a trained (non-zero) adapter, as SRT's DPO starts from its SFT adapter, on the
 * tiny-llama fixture with its fixture adapter: the reference is that start adapter, frozen. At step 1 the policy
 * equals the reference, so the loss is log 2; the reference's log-probabilities stay put while the policy's
 * move; the start adapter's weights are not touched; and RPO's term is the chosen answers' mean per-token NLL
 * (the SFT loss of the same answers).
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useNodeBackend } from '../../src/cli/node-backend.ts';
import type { TrainProgressMessage, TrainStepProgress } from '../../src/core/engine/tfjs/api.ts';
import { trainConfig } from '../../src/core/engine/tfjs/train-config.ts';
import { loraGradFn, runLoraTraining, trainableCopy } from '../../src/core/engine/tfjs/train-run.ts';
import { nodeDirSource } from '../../src/core/io/node-dir.ts';
import { disposeLora, loadPeftAdapter } from '../../src/core/lora/peft-load.ts';
import type { LoraWeights } from '../../src/core/lora/types.ts';
import { loadModel, type LanguageModel } from '../../src/core/model/load.ts';
import { PreferenceBatches } from '../../src/core/train/batches.ts';
import { encodePreferenceRows } from '../../src/core/train/data-encode.ts';
import type { TrainRow } from '../../src/core/train/data-types.ts';
import { Rng } from '../../src/core/random/rng.ts';
import { adapterDir, modelDir } from '../fixtures/reference.ts';

const PAIRS = 4;
const PREFERENCE: TrainRow[] = Array.from({ length: PAIRS }, (_, i) => ({
  kind: 'preference',
  line: i + 1,
  prompt: [{ role: 'user', content: `what is ${i} + ${i + 2}?` }],
  chosen: [{ role: 'assistant', content: `${i} + ${i + 2} = ${2 * i + 2}` }],
  rejected: [{ role: 'assistant', content: `it is ${3 * i + 7}, I think` }],
}));
/** The chosen answers as SFT rows: their SFT loss is the mean per-token NLL that RPO adds. */
const CHOSEN_SFT: TrainRow[] = PREFERENCE.map((r) => (r.kind === 'preference' ? { kind: 'prompt-completion', line: r.line, prompt: r.prompt, completion: r.chosen } : r));

let model: LanguageModel;
let start: LoraWeights;

beforeAll(async () => {
  await useNodeBackend('wasm');
  model = await loadModel(await nodeDirSource(modelDir('tiny-llama')));
  start = await loadPeftAdapter(await nodeDirSource(adapterDir('tiny-llama')), model.config);
});
afterAll(() => {
  disposeLora(start);
  model.dispose();
});

function values(w: LoraWeights): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [path, { a, b }] of w.modules) {
    out.set(`${path}.A`, Float32Array.from(a.dataSync()));
    out.set(`${path}.B`, Float32Array.from(b.dataSync()));
  }
  return out;
}

/** Every batch holds all pairs (batch size = pairs), so the reference's mean log-probabilities are the same at every step. */
async function train(method: 'sft' | 'dpo', from: LoraWeights | null, o: { steps: number; lr: number; rpoAlpha?: number }) {
  const steps: TrainStepProgress[] = [];
  const run = await runLoraTraining({
    model,
    method,
    rows: method === 'dpo' ? PREFERENCE : CHOSEN_SFT,
    config: trainConfig({ steps: o.steps, batchSize: PAIRS, lr: o.lr, warmupSteps: 0, schedule: 'constant', beta: 0.1, rpoAlpha: o.rpoAlpha ?? 0, seed: 3 }),
    from,
    baseModel: 'tiny',
    onProgress: (m: TrainProgressMessage) => void (m.kind === 'step' && steps.push(m)),
  });
  const trained = values(run.weights);
  disposeLora(run.weights);
  return { steps, trained };
}

describe('DPO from a start adapter (the reference is that adapter, frozen)', () => {
  it('starts at log 2 with zero margin, keeps the reference fixed while the policy moves, and leaves the start adapter alone', async () => {
    const before = values(start);
    expect([...before.values()].every((x) => x.some((v) => v !== 0)), 'the fixture adapter is non-zero (A and B)').toBe(true);
    const { steps, trained } = await train('dpo', start, { steps: 6, lr: 2e-2 });
    expect(steps).toHaveLength(6);
    const first = steps[0].dpo!;
    expect(Math.abs(steps[0].loss - Math.LN2)).toBeLessThan(1e-5);
    expect(first.pairs).toBe(PAIRS);
    expect(Math.abs(first.margin)).toBeLessThan(1e-5);
    expect(Math.abs(first.policyChosen - first.refChosen)).toBeLessThan(1e-4);
    expect(Math.abs(first.policyRejected - first.refRejected)).toBeLessThan(1e-4);
    for (const s of steps.slice(1)) {
      expect(Math.abs(s.dpo!.refChosen - first.refChosen), `step ${s.step}`).toBeLessThan(1e-4);
      expect(Math.abs(s.dpo!.refRejected - first.refRejected), `step ${s.step}`).toBeLessThan(1e-4);
    }
    const last = steps.at(-1)!;
    expect(last.loss).toBeLessThan(Math.LN2 - 0.01);
    expect(last.dpo!.margin).toBeGreaterThan(0.1);
    expect(Math.abs(last.dpo!.policyChosen - first.policyChosen) + Math.abs(last.dpo!.policyRejected - first.policyRejected)).toBeGreaterThan(1);
    // The start adapter is bit-identical after training; the trained copy moved away from it.
    const after = values(start);
    for (const [k, x] of before) expect(Buffer.from(after.get(k)!.buffer).equals(Buffer.from(x.buffer)), k).toBe(true);
    expect([...trained].some(([k, x]) => x.some((v, i) => v !== before.get(k)![i]))).toBe(true);
  });

  it('the reference is the start adapter, not the base model: a fresh adapter sees other reference log-probabilities', async () => {
    const fromStart = (await train('dpo', start, { steps: 1, lr: 0 })).steps[0].dpo!;
    const fresh = await train('dpo', null, { steps: 1, lr: 0 });
    expect(Math.abs(fresh.steps[0].loss - Math.LN2)).toBeLessThan(1e-5);
    const base = fresh.steps[0].dpo!;
    expect(Math.abs(base.refChosen - fromStart.refChosen) + Math.abs(base.refRejected - fromStart.refRejected)).toBeGreaterThan(0.05);
  });

  it('the checkpointed and the plain pass both take the start adapter as reference (loss log 2 at the start)', () => {
    const { examples } = encodePreferenceRows(PREFERENCE, model.tokenizer, { seqLen: 64 });
    const batch = new PreferenceBatches(examples, { batchSize: PAIRS, seed: 1, padId: model.tokenizer.padTokenId ?? 0 }).get(0);
    const policy = trainableCopy(start);
    for (const checkpoint of [false, true]) {
      const r = loraGradFn(model, policy, 'dpo', 0.1, { reference: start, checkpoint })(batch, { step: 0, microStep: 0, rng: Rng.fromSeed(1) });
      expect(Math.abs(r.value.dataSync()[0] - Math.LN2), `checkpoint ${checkpoint}`).toBeLessThan(1e-5);
      tf.dispose([r.value, ...r.grads.values()]);
    }
    disposeLora(policy);
  });

  it("RPO's term is α times the chosen answers' mean per-token NLL: the SFT loss of the same answers", async () => {
    const sft = (await train('sft', start, { steps: 1, lr: 0 })).steps[0].loss;
    expect(sft).toBeGreaterThan(0.5);
    for (const alpha of [1, 0.25]) {
      const dpo = (await train('dpo', start, { steps: 1, lr: 0, rpoAlpha: alpha })).steps[0].loss;
      expect(Math.abs(dpo - (Math.LN2 + alpha * sft)), `α ${alpha}`).toBeLessThan(1e-4);
    }
  });
});

/**
 * Loading a model in a format the kernels own (opt-in: 8-bit or packed F32, owned-weights.ts): the loaded F32
 * model is converted in place, and what that costs in accuracy is measured on the spot, on this very model: a
 * probe prompt is decoded on the kernels in F32 first, then in the format, and the largest differences of logits
 * and log-probabilities over the prompt's last position and a few greedy steps are reported (shown to the user
 * with the load). Packed F32 holds the same values; only the order of the sums changes.
 */
import { AppError } from '../errors.ts';
import type { LlamaModel } from '../model/llama.ts';
import { KernelRunner, kernelsSupport } from './forward.ts';
import { KernelKvCache } from './kv-cache.ts';
import { activeKernels, kernelsReason, type Kernels } from './module.ts';
import { convertModel, ownedWeightsOf, type OwnedFormat } from './owned-weights.ts';

/** f32: tfjs tensors (trainable); f32-packed and int8: owned by the kernels, for decoding only. */
export type WeightFormat = 'f32' | OwnedFormat;

export const WEIGHT_FORMATS: readonly WeightFormat[] = ['f32', 'f32-packed', 'int8'];

export function checkWeightFormat(f: unknown): WeightFormat {
  if (f === undefined || f === null) return 'f32';
  if (WEIGHT_FORMATS.includes(f as WeightFormat)) return f as WeightFormat;
  throw new AppError('bad-input', `The weight format must be one of ${WEIGHT_FORMATS.join(', ')}, not ${JSON.stringify(f)}.`);
}

/** "8-bit weights", "packed F32 weights". */
export function formatName(f: OwnedFormat): string {
  return f === 'int8' ? '8-bit weights' : 'packed F32 weights';
}

/** A format's error against F32 on a probe (see the module comment). */
export interface FormatError {
  format: OwnedFormat;
  /** max |logit(format) − logit(F32)| over the probe's positions and the vocabulary. */
  maxLogit: number;
  /** The same for log-softmax (what sampling sees). */
  maxLogProb: number;
  /** Positions compared. */
  positions: number;
  /** The largest |logit| of the F32 reference (the scale the error compares to). */
  logitScale: number;
  /** Greedy tokens that differ between the two over the probe's steps. */
  tokensChanged: number;
}

function logSoftmax(x: Float32Array): Float64Array {
  let m = -Infinity;
  for (const v of x) m = Math.max(m, v);
  let s = 0;
  for (const v of x) s += Math.exp(v - m);
  const lse = m + Math.log(s);
  return Float64Array.from(x, (v) => v - lse);
}

/** Logits of the probe's last position and of `steps` greedy steps fed with `tokens` (null: its own picks). */
function probe(k: Kernels, model: LlamaModel, steps: number, tokens: number[] | null): { rows: Float32Array[]; picks: number[] } {
  const V = model.config.vocabSize;
  const prompt = Array.from({ length: 24 }, (_, i) => (i * 7919 + 13) % V);
  const runner = new KernelRunner(k, model.config, model.weights);
  const cache = new KernelKvCache(k, model.config, 1);
  try {
    const rows: Float32Array[] = [];
    const picks: number[] = [];
    runner.step(cache, [prompt]);
    for (let s = 0; ; s++) {
      rows.push(runner.logitsRow(0));
      picks.push(runner.argmax(0));
      if (s === steps) break;
      runner.step(cache, [[tokens ? tokens[s] : picks[s]]]);
    }
    return { rows, picks };
  } finally {
    cache.dispose();
    runner.dispose();
  }
}

/** Converts a freshly loaded model in place to `format` and measures the error (needs the wasm kernels). */
export function loadInFormat(model: LlamaModel, format: OwnedFormat): FormatError {
  const name = formatName(format);
  const k = activeKernels();
  if (!k) throw new AppError('unsupported', `${name[0].toUpperCase()}${name.slice(1)} run on our wasm kernels, which are not available here: ${kernelsReason()}. Load the model in F32.`);
  if (!kernelsSupport(model.config)) throw new AppError('unsupported', 'The wasm kernels cannot run this model configuration; load it in F32.');
  const existing = ownedWeightsOf(model.weights);
  if (existing) throw new AppError('internal', `The weights are already in the ${existing.format} format; load the model again to convert it.`);
  const steps = 8;
  const f32 = probe(k, model, steps, null);
  convertModel(k, model.weights, format);
  const got = probe(k, model, steps, f32.picks); // fed the F32 picks: both see the same sequence
  let maxLogit = 0;
  let maxLogProb = 0;
  let logitScale = 0;
  f32.rows.forEach((ref, i) => {
    const row = got.rows[i];
    const a = logSoftmax(ref);
    const b = logSoftmax(row);
    for (let v = 0; v < ref.length; v++) {
      maxLogit = Math.max(maxLogit, Math.abs(row[v] - ref[v]));
      maxLogProb = Math.max(maxLogProb, Math.abs(b[v] - a[v]));
      logitScale = Math.max(logitScale, Math.abs(ref[v]));
    }
  });
  const tokensChanged = f32.picks.filter((p, i) => p !== got.picks[i]).length;
  return { format, maxLogit, maxLogProb, positions: f32.rows.length, logitScale, tokensChanged };
}

/** "8-bit weights: max |Δ logit| 0.031 (|logit| ≤ 4.2), max |Δ log p| 0.020 against F32 over 9 probe positions; 0 of 9 greedy tokens changed". */
export function describeFormatError(e: FormatError): string {
  return `${formatName(e.format)}: max |Δ logit| ${e.maxLogit.toPrecision(2)} (|logit| ≤ ${e.logitScale.toFixed(1)}), max |Δ log p| ${e.maxLogProb.toPrecision(2)} against F32 over ${e.positions} probe positions; ${e.tokensChanged} of ${e.positions} greedy tokens changed`;
}

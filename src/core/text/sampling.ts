/**
 * Choosing the next token from a row of logits, in Hugging Face's order: repetition penalty, then either
 * argmax (temperature 0) or temperature → top-k → top-p → a draw from the seeded generator.
 */
import { AppError } from '../errors.ts';
import type { Random } from './random.ts';

export interface SamplingParams {
  /** 0 = greedy. */
  temperature: number;
  /** 0 = no top-k filter. */
  topK: number;
  /** 1 = no nucleus filter. */
  topP: number;
  /** 1 = none; > 1 discourages tokens already in the sequence (prompt included). */
  repetitionPenalty: number;
}

export const GREEDY: SamplingParams = { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1 };

/** Fills defaults and rejects nonsense with AppError('bad-input'). */
export function samplingParams(p: { temperature?: number; topK?: number; topP?: number; repetitionPenalty?: number }): SamplingParams {
  const out: SamplingParams = {
    temperature: p.temperature ?? 0,
    topK: p.topK ?? 0,
    topP: p.topP ?? 1,
    repetitionPenalty: p.repetitionPenalty ?? 1,
  };
  if (!(out.temperature >= 0) || !Number.isFinite(out.temperature)) bad(`temperature ${p.temperature} must be 0 (greedy) or positive`);
  if (!Number.isInteger(out.topK) || out.topK < 0) bad(`top-k ${p.topK} must be a whole number ≥ 0`);
  if (!(out.topP > 0 && out.topP <= 1)) bad(`top-p ${p.topP} must be in (0, 1]`);
  if (!(out.repetitionPenalty > 0) || !Number.isFinite(out.repetitionPenalty)) bad(`repetition penalty ${p.repetitionPenalty} must be positive`);
  return out;
}

function bad(problem: string): never {
  throw new AppError('bad-input', `Sampling setting: ${problem}.`);
}

/**
 * The next token for one row. `logits` [V] is modified in place (penalty, temperature). `seen` holds the
 * sequence's tokens for the repetition penalty.
 */
export function sampleToken(logits: Float32Array, p: SamplingParams, seen: ReadonlySet<number> | null, random: Random): number {
  const V = logits.length;
  if (p.repetitionPenalty !== 1 && seen) {
    for (const id of seen) {
      if (id < 0 || id >= V) continue;
      const l = logits[id];
      logits[id] = l < 0 ? l * p.repetitionPenalty : l / p.repetitionPenalty;
    }
  }
  if (p.temperature === 0) return argmax(logits);

  let max = -Infinity;
  for (let i = 0; i < V; i++) if (logits[i] > max) max = logits[i];
  // Unnormalised probabilities at this temperature.
  const probs = new Float64Array(V);
  let total = 0;
  for (let i = 0; i < V; i++) total += probs[i] = Math.exp((logits[i] - max) / p.temperature);

  let candidates: number[];
  if (p.topK > 0 && p.topK < V) candidates = topKIndices(probs, p.topK);
  else if (p.topP < 1) candidates = likelyIndices(probs, total, p.topP);
  else return draw(probs, null, total, random);

  candidates.sort((a, b) => probs[b] - probs[a] || a - b);
  let mass = 0;
  for (const i of candidates) mass += probs[i];
  if (p.topP < 1) {
    // Keep the smallest prefix whose share of the (top-k) mass reaches top-p.
    let cum = 0;
    let keep = 0;
    while (keep < candidates.length) {
      cum += probs[candidates[keep++]];
      if (cum >= p.topP * mass) break;
    }
    candidates = candidates.slice(0, keep);
    mass = cum;
  }
  return draw(probs, candidates, mass, random);
}

export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

function draw(probs: Float64Array, candidates: number[] | null, mass: number, random: Random): number {
  let r = random() * mass;
  if (candidates) {
    for (const i of candidates) if ((r -= probs[i]) < 0) return i;
    return candidates[candidates.length - 1];
  }
  for (let i = 0; i < probs.length; i++) if ((r -= probs[i]) < 0) return i;
  return argmax(probs);
}

/** Indices of the k largest values (ties: lower index first), via a size-k min-heap. */
function topKIndices(probs: Float64Array, k: number): number[] {
  const heap: number[] = [];
  const less = (a: number, b: number): boolean => probs[a] < probs[b] || (probs[a] === probs[b] && a > b);
  const down = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && less(heap[l], heap[m])) m = l;
      if (r < heap.length && less(heap[r], heap[m])) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m], heap[i]];
      i = m;
    }
  };
  for (let i = 0; i < probs.length; i++) {
    if (heap.length < k) {
      heap.push(i);
      for (let j = heap.length - 1; j > 0; ) {
        const parent = (j - 1) >> 1;
        if (!less(heap[j], heap[parent])) break;
        [heap[j], heap[parent]] = [heap[parent], heap[j]];
        j = parent;
      }
    } else if (less(heap[0], i)) {
      heap[0] = i;
      down(0);
    }
  }
  return heap;
}

/**
 * For top-p without top-k: the tokens that can matter. Tokens below a tiny share are skipped when the rest
 * already hold the top-p mass (then the nucleus never reaches them, so the result is exact); otherwise all.
 */
function likelyIndices(probs: Float64Array, total: number, topP: number): number[] {
  const floor = total * 1e-7;
  const out: number[] = [];
  let mass = 0;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] >= floor) {
      out.push(i);
      mass += probs[i];
    }
  }
  if (mass >= topP * total) return out;
  return Array.from(probs, (_, i) => i);
}

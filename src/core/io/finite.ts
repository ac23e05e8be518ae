/**
 * The finite-values check run on every weight tensor as it is read (model weights and LoRA adapters): one pass
 * over the widened float32 values, no copy. A NaN or an infinity in a weight makes every logit NaN, so the
 * tensor is refused by name instead of producing `null` logits later.
 */
import { AppError } from '../errors.ts';

/** Index of the first NaN or ±Infinity, or -1. */
export function firstNonFinite(values: Float32Array | Float64Array): number {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v - v !== 0) return i; // NaN - NaN and ∞ - ∞ are NaN; every finite v gives 0
  }
  return -1;
}

/** Throws AppError('non-finite') naming `file`, the tensor and the first bad value's position. */
export function assertFinite(file: string, tensor: string, shape: readonly number[], values: Float32Array | Float64Array, advice: string): void {
  const i = firstNonFinite(values);
  if (i < 0) return;
  throw new AppError('non-finite', `${file}: tensor ${tensor} holds ${String(values[i])} at [${unravel(i, shape).join(', ')}]. ${advice}`);
}

/** Flat index → coordinates in a row-major tensor of `shape`. */
function unravel(index: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  let rest = index;
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = rest % shape[d];
    rest = Math.floor(rest / shape[d]);
  }
  return out;
}

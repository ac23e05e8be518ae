/**
 * Checks on a LoRA adapter besides its tensor names and shapes (planModules in peft-load.ts pairs those with
 * the base model's modules), with no tfjs so the page can use them too:
 *
 * - the numbers in adapter_config.json: `r` a whole number in [1, LORA_BOUNDS.rank], `lora_alpha` finite in
 *   (0, LORA_BOUNDS.alpha] (JSON `1e309` parses as Infinity and passes a `> 0` check), `lora_dropout` finite
 *   in [0, 1);
 * - the rank against the base model: `r` at most min(in, out) of every targeted projection (a larger rank
 *   adds nothing to the product B·A and means the adapter was made for a larger model);
 * - the weights, as they are read: finite (io/finite.ts), the tensor named in the error.
 */
import { AppError, showValue } from '../errors.ts';
import { projectionDims, type ModelConfig, type Projection } from '../model/types.ts';

export const LORA_BOUNDS = {
  /** r [PEFT adapters in use: 4–256] */
  rank: 4096,
  /** lora_alpha [in use: 8–512] */
  alpha: 1_000_000,
} as const;

export const ADAPTER_NON_FINITE_ADVICE = 'The adapter is damaged or the training that made it diverged; it was not loaded.';

/** The numbers of an adapter_config.json, checked; `fail` builds the error from a problem. */
export function checkLoraNumbers(raw: Record<string, unknown>, fail: (problem: string) => never): { r: number; alpha: number; dropout: number } {
  const r = raw.r;
  if (typeof r !== 'number' || !Number.isSafeInteger(r) || r <= 0 || r > LORA_BOUNDS.rank) {
    fail(`r is ${showValue(r)}; expected a positive integer up to ${LORA_BOUNDS.rank}`);
  }
  const alpha = raw.lora_alpha ?? 8;
  if (typeof alpha !== 'number' || !Number.isFinite(alpha) || !(alpha > 0) || alpha > LORA_BOUNDS.alpha) {
    fail(`lora_alpha is ${showValue(alpha)}; expected a positive number up to ${LORA_BOUNDS.alpha}`);
  }
  const dropout = raw.lora_dropout ?? 0;
  if (typeof dropout !== 'number' || !Number.isFinite(dropout) || dropout < 0 || dropout >= 1) {
    fail(`lora_dropout is ${showValue(dropout)}; expected a number in [0, 1)`);
  }
  return { r: r as number, alpha: alpha as number, dropout: dropout as number };
}

/** Throws AppError('adapter-mismatch') when `r` exceeds min(in, out) of a targeted projection of the model. */
export function checkRankFits(model: ModelConfig, r: number, targets: readonly Projection[]): void {
  for (const proj of targets) {
    const { inFeatures, outFeatures } = projectionDims(model, proj);
    const most = Math.min(inFeatures, outFeatures);
    if (r > most) {
      throw new AppError(
        'adapter-mismatch',
        `This adapter does not fit the model: r=${r} is larger than ${proj} on this model allows (${inFeatures} in, ${outFeatures} out, so at most r=${most}) — the adapter was made for a larger model.`,
      );
    }
  }
}

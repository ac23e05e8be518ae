/** Reading stored JSON (settings, run configs) back without trusting its shape. */
import { AppError } from '../../core/errors.ts';

/** The value as a plain object, or null for anything else (arrays included). */
export function obj(v: unknown): Record<string, unknown> | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

/** A stored list of ids; AppError('bad-input') with `what` ("The stored SRT run does not list its train prompts.") otherwise. */
export function storedIds(v: unknown, what: string): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new AppError('bad-input', what);
  return v as string[];
}

/** Reading stored JSON (settings, run configs) back without trusting its shape. */

/** The value as a plain object, or null for anything else (arrays included). */
export function obj(v: unknown): Record<string, unknown> | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

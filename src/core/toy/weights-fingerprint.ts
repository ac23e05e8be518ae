/**
 * Which weights a stored measurement was made on. The bench writes its numbers next to the model
 * (self_eval.json, srt_eval.json) with the SHA-256 of the model.safetensors it measured; whoever shows them
 * (the Evaluation tab) compares that with the weights at hand, so numbers from an older build of the weights are
 * not passed off as this model's. Records written before the fingerprint existed have none: "unknown version".
 */
import { sha256Hex } from '../io/sha256.ts';

/** The weights file a fingerprint is of. */
export const WEIGHTS_FILE = 'model.safetensors';

export interface WeightsFingerprint {
  file: string;
  /** Lowercase hex SHA-256 of the file's bytes. */
  sha256: string;
  bytes: number;
}

export async function weightsFingerprint(bytes: Uint8Array, file = WEIGHTS_FILE): Promise<WeightsFingerprint> {
  return { file, sha256: await sha256Hex(bytes), bytes: bytes.length };
}

/** A record's fingerprint (its `weights` field), or null when it has none or it is malformed. */
export function recordedWeights(record: unknown): WeightsFingerprint | null {
  const w = record && typeof record === 'object' ? (record as { weights?: unknown }).weights : undefined;
  if (!w || typeof w !== 'object') return null;
  const { file, sha256, bytes } = w as Partial<Record<keyof WeightsFingerprint, unknown>>;
  if (typeof file !== 'string' || typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256) || typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes < 0) return null;
  return { file, sha256, bytes };
}

/**
 * How a record's weights relate to the weights at hand: the same file, another one, a record without a
 * fingerprint (`unknown`), or weights at hand that could not be read (`unread`, null).
 */
export type WeightsMatch = 'same' | 'other' | 'unknown' | 'unread';

export function weightsMatch(recorded: WeightsFingerprint | null, loaded: WeightsFingerprint | null): WeightsMatch {
  if (!recorded) return 'unknown';
  if (!loaded) return 'unread';
  return recorded.sha256 === loaded.sha256 && recorded.bytes === loaded.bytes ? 'same' : 'other';
}

/** The first 12 hex digits, for people. */
export function shortSha(w: WeightsFingerprint): string {
  return w.sha256.slice(0, 12);
}

/** One sentence on what weights a record was measured on, next to those the app loads for this model (`loaded`). */
export function weightsSentence(recorded: WeightsFingerprint | null, loaded: WeightsFingerprint | null): string {
  switch (weightsMatch(recorded, loaded)) {
    case 'same':
      return `measured on this model's weights, the ones the app loads (${recorded!.file} SHA-256 ${shortSha(recorded!)}…).`;
    case 'other':
      return `measured on other weights (SHA-256 ${shortSha(recorded!)}…) than the ones the app loads for this model (${shortSha(loaded!)}…): not this model's numbers.`;
    case 'unknown':
      return 'measured on weights of unknown version (the record has no fingerprint of the weights): they may not be this model\'s.';
    case 'unread':
      return `measured on weights with SHA-256 ${shortSha(recorded!)}…; the weights the app loads for this model could not be read to compare.`;
  }
}

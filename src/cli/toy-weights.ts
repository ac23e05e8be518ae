/**
 * The fingerprint of a model folder's weights for the records the toy experiments store (self_eval.json,
 * srt_eval.json): read before the runs load the model, and checked again before the numbers are written, so a
 * record never names weights other than the ones it measured (e.g. a rebuild during a long bench).
 * Used by src/cli/toy-self.ts, src/cli/toy-srt.ts and the toy-self / toy-srt bench suites.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { shortSha, weightsFingerprint, WEIGHTS_FILE, type WeightsFingerprint } from '../core/toy/weights-fingerprint.ts';

export async function folderWeights(dir: string): Promise<WeightsFingerprint> {
  return weightsFingerprint(new Uint8Array(await readFile(join(dir, WEIGHTS_FILE))));
}

/**
 * Null when the folder still holds the weights of `before`; otherwise why the results must not be written with
 * that fingerprint (the CLIs throw it, the bench logs it and keeps its numbers in the table it prints).
 */
export async function weightsChangedSince(dir: string, before: WeightsFingerprint): Promise<string | null> {
  const now = await folderWeights(dir);
  if (now.sha256 === before.sha256) return null;
  return `${join(dir, WEIGHTS_FILE)} changed while the experiment ran (SHA-256 ${shortSha(before)}… at the start, ${shortSha(now)}… now): the results are not stored, since they would name the wrong weights. Run it again.`;
}

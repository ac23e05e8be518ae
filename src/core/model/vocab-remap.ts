/**
 * Carrying a trained embedding over to a rebuilt tokenizer: when a corpus change rebuilds the toy tokenizer,
 * token ids move (and a few tokens come and go), so the old embedding's columns are matched to the new
 * tokenizer by token text. Tokens the old tokenizer lacked start at zero.
 */
import * as tf from '@tensorflow/tfjs';
import { AppError } from '../errors.ts';

/** token text → id, from a tokenizer.json's model vocabulary and its added tokens. */
export function tokenizerVocab(tokenizerJson: unknown): Map<string, number> {
  const t = tokenizerJson as { model?: { vocab?: Record<string, number> }; added_tokens?: { id: number; content: string }[] };
  const vocab = t?.model?.vocab;
  if (!vocab || typeof vocab !== 'object') throw new AppError('bad-input', 'This tokenizer.json has no model.vocab table, so its tokens cannot be matched.');
  const out = new Map<string, number>(Object.entries(vocab));
  for (const a of t.added_tokens ?? []) out.set(a.content, a.id);
  return out;
}

/** Whether two vocabularies give every token the same id. */
export function sameVocab(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): boolean {
  if (a.size !== b.size) return false;
  for (const [text, id] of a) if (b.get(text) !== id) return false;
  return true;
}

/**
 * The columns of `matrix` [H, V_old] (one per old token id) rearranged for the new vocabulary: [H, V_new],
 * column j = the old column of token `text(j)`, or zeros. `size` is the new vocabulary size (ids ≥ the table's
 * largest are padding). Also reports how many new tokens were found in the old vocabulary.
 */
export function remapEmbeddingColumns(
  matrix: tf.Tensor2D,
  from: ReadonlyMap<string, number>,
  to: ReadonlyMap<string, number>,
  size: number,
): { matrix: tf.Tensor2D; carried: number } {
  const [h, vOld] = matrix.shape;
  const old = matrix.dataSync() as Float32Array; // row-major [H, V_old]
  const out = new Float32Array(h * size); // [H, V_new]
  let carried = 0;
  for (const [text, j] of to) {
    if (j >= size) throw new AppError('bad-input', `Token "${text}" has id ${j}, beyond the vocabulary size ${size}.`);
    const i = from.get(text);
    if (i === undefined || i >= vOld) continue;
    carried++;
    for (let r = 0; r < h; r++) out[r * size + j] = old[r * vOld + i];
  }
  return { matrix: tf.tensor2d(out, [h, size]), carried };
}

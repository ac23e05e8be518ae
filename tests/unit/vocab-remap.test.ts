import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/core/errors.ts';
import { remapEmbeddingColumns, sameVocab, tokenizerVocab } from '../../src/core/model/vocab-remap.ts';

const tokJson = (vocab: Record<string, number>, added: { id: number; content: string }[] = []) => ({ model: { vocab }, added_tokens: added });

describe('carrying an embedding over to a rebuilt tokenizer', () => {
  it('reads the vocabulary with its added tokens and compares two', () => {
    const a = tokenizerVocab(tokJson({ a: 0, b: 1 }, [{ id: 2, content: '<|im_end|>' }]));
    expect([...a]).toEqual([['a', 0], ['b', 1], ['<|im_end|>', 2]]);
    expect(sameVocab(a, tokenizerVocab(tokJson({ b: 1, a: 0 }, [{ id: 2, content: '<|im_end|>' }])))).toBe(true);
    expect(sameVocab(a, tokenizerVocab(tokJson({ a: 1, b: 0 }, [{ id: 2, content: '<|im_end|>' }])))).toBe(false);
    expect(() => tokenizerVocab({ model: {} })).toThrow(AppError);
  });

  it('moves each column to its token\'s new id and starts new tokens at zero', () => {
    // [H=2, V_old=3]: column i holds (i+1, -(i+1)).
    const old = tf.tensor2d([[1, 2, 3], [-1, -2, -3]]);
    const from = new Map([['a', 0], ['b', 1], ['c', 2]]);
    const to = new Map([['c', 0], ['new', 1], ['a', 2]]);
    const { matrix, carried } = remapEmbeddingColumns(old, from, to, 4);
    expect(carried).toBe(2);
    expect(matrix.shape).toEqual([2, 4]);
    expect(matrix.arraySync()).toEqual([[3, 0, 1, 0], [-3, 0, -1, 0]]);
    expect(() => remapEmbeddingColumns(old, from, new Map([['a', 9]]), 4)).toThrow(/beyond the vocabulary size/);
    old.dispose();
    matrix.dispose();
  });
});

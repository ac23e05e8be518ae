import { describe, expect, it } from 'vitest';
import { deriveSeed, Rng } from '../../src/core/random/rng.ts';

/** xoshiro128** straight from the reference C code, in BigInt arithmetic (independent of the implementation). */
function referenceXoshiro(state: bigint[], n: number): number[] {
  const M = 0xffffffffn;
  const rotl = (x: bigint, k: bigint) => ((x << k) | (x >> (32n - k))) & M;
  const s = [...state];
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const result = (rotl((s[1] * 5n) & M, 7n) * 9n) & M;
    const t = (s[1] << 9n) & M;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11n);
    out.push(Number(result));
  }
  return out;
}

describe('Rng (xoshiro128**)', () => {
  it('produces the reference xoshiro128** sequence from a given state', () => {
    const state = [1, 2, 3, 0xdeadbeef];
    const rng = Rng.fromState(state);
    const got = Array.from({ length: 50 }, () => rng.nextUint32());
    expect(got).toEqual(referenceXoshiro(state.map(BigInt), 50));
  });

  it('is reproducible per seed, saves and restores its state exactly', () => {
    const a = Rng.fromSeed(42);
    const b = Rng.fromSeed(42);
    const c = Rng.fromSeed(43);
    const xs = Array.from({ length: 20 }, () => a.nextUint32());
    expect(Array.from({ length: 20 }, () => b.nextUint32())).toEqual(xs);
    expect(Array.from({ length: 20 }, () => c.nextUint32())).not.toEqual(xs);
    const saved = a.getState();
    const next = Array.from({ length: 10 }, () => a.nextFloat());
    const restored = Rng.fromState(saved);
    expect(Array.from({ length: 10 }, () => restored.nextFloat())).toEqual(next);
    const clone = restored.clone();
    expect(clone.nextUint32()).toBe(restored.nextUint32());
    expect(() => Rng.fromState([0, 0, 0, 0])).toThrow(/all zero/);
    expect(() => Rng.fromState([1, 2, 3])).toThrow(/four unsigned/);
    expect(() => Rng.fromSeed(NaN)).toThrow(/finite/);
  });

  it('gives uniform floats in [0, 1) and unbiased integers', () => {
    const rng = Rng.fromSeed(7);
    let sum = 0;
    for (let i = 0; i < 20000; i++) {
      const x = rng.nextFloat();
      expect(x >= 0 && x < 1).toBe(true);
      sum += x;
    }
    expect(Math.abs(sum / 20000 - 0.5)).toBeLessThan(0.01);
    const counts = new Array(7).fill(0);
    const N = 70000;
    for (let i = 0; i < N; i++) counts[rng.nextInt(7)]++;
    const chi2 = counts.reduce((s, c) => s + (c - N / 7) ** 2 / (N / 7), 0);
    expect(chi2).toBeLessThan(22.5); // χ²(6) at p = 0.001
    expect(() => rng.nextInt(0)).toThrow(RangeError);
    for (let i = 0; i < 100; i++) {
      const u = rng.uniform(-2, 3);
      expect(u >= -2 && u < 3).toBe(true);
    }
  });

  it('shuffles into a permutation, reproducibly', () => {
    const p = Rng.fromSeed(1).permutation(100);
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(Rng.fromSeed(1).permutation(100)).toEqual(p);
    expect(Rng.fromSeed(2).permutation(100)).not.toEqual(p);
  });

  it('derives independent, stable sub-seeds from labels', () => {
    expect(deriveSeed(0, 'epoch:1')).toBe(deriveSeed(0, 'epoch:1'));
    const seeds = new Set(['epoch:0', 'epoch:1', 'model.layers.0.self_attn.q_proj', 'model.layers.1.self_attn.q_proj'].flatMap((l) => [deriveSeed(0, l), deriveSeed(1, l)]));
    expect(seeds.size).toBe(8);
    for (const s of seeds) expect(Number.isInteger(s) && s >= 0 && s <= 0xffffffff).toBe(true);
  });
});

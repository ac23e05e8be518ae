import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/core/errors.ts';
import {
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
  writeSafetensors,
  type TensorToWrite,
} from '../../src/core/io/safetensors-write.ts';
import { bytesSource } from '../../src/core/io/byte-source.ts';
import { SafetensorsFile } from '../../src/core/io/safetensors.ts';
import { decodeBf16, decodeHalf, readSafetensorsIndependently, testFloats } from './train-helpers.ts';

function sample(): Map<string, TensorToWrite> {
  return new Map<string, TensorToWrite>([
    ['b.weight', { shape: [3, 5], data: testFloats(15, 1) }],
    ['a.bias', { shape: [7], data: testFloats(7, 2) }],
    ['scalar', { shape: [], data: new Float32Array([3.25]) }],
    ['empty', { shape: [0, 4], data: new Float32Array(0) }],
  ]);
}

describe('writeSafetensors', () => {
  it('writes a header padded with spaces to 8 bytes, contiguous offsets and exact F32 values', () => {
    const tensors = sample();
    const bytes = writeSafetensors(tensors);
    const read = readSafetensorsIndependently(bytes);
    expect(read.headerLength % 8).toBe(0);
    expect(read.headerText).toMatch(/^\{.*\} *$/s);
    expect(read.headerText.trimEnd().length).toBeGreaterThan(read.headerLength - 8);
    expect(read.metadata).toEqual({ format: 'pt' });
    expect([...read.tensors.keys()]).toEqual([...tensors.keys()]);
    let expectedOffset = 0;
    for (const [name, t] of tensors) {
      const r = read.tensors.get(name)!;
      expect(r.dtype).toBe('F32');
      expect(r.shape).toEqual(t.shape);
      expect(r.offsets[0]).toBe(expectedOffset);
      expectedOffset = r.offsets[1];
      expect(Array.from(r.values)).toEqual(Array.from(t.data));
    }
    expect(bytes.length).toBe(read.dataStart + expectedOffset);
  });

  it('writes F16 and BF16 rounded to nearest even', () => {
    const data = testFloats(1000, 7, 10);
    for (const dtype of ['F16', 'BF16'] as const) {
      const read = readSafetensorsIndependently(writeSafetensors([['x', { shape: [1000], data }]], { dtype }));
      const r = read.tensors.get('x')!;
      expect(r.dtype).toBe(dtype);
      expect(r.offsets).toEqual([0, 2000]);
      for (let i = 0; i < data.length; i++) {
        const rel = Math.abs(r.values[i] - data[i]) / Math.abs(data[i]);
        expect(rel).toBeLessThanOrEqual(dtype === 'F16' ? 2 ** -11 : 2 ** -8);
      }
    }
  });

  it('converts edge cases of F16 exactly', () => {
    const cases: Array<[number, number]> = [
      [1, 0x3c00],
      [-2, 0xc000],
      [65504, 0x7bff],
      [65520, 0x7c00], // rounds up past the largest half: infinity
      [1e6, 0x7c00],
      [-Infinity, 0xfc00],
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -25, 0x0000], // tie between 0 and the smallest subnormal: even (0)
      [3 * 2 ** -25, 0x0002], // tie between 1 and 2 subnormal units: even (2)
      [2 ** -14, 0x0400], // smallest normal
      [1 + 2 ** -11, 0x3c00], // tie: even mantissa
      [1 + 3 * 2 ** -11, 0x3c02], // tie: rounds up to even
      [0, 0],
      [-0, 0x8000],
    ];
    for (const [x, bits] of cases) expect(float32ToFloat16Bits(x), `f16(${x})`).toBe(bits);
    expect(float32ToFloat16Bits(NaN) & 0x7c00).toBe(0x7c00);
    expect(float32ToFloat16Bits(NaN) & 0x3ff).not.toBe(0);
    // every half value round-trips
    const wrong: number[] = [];
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0) continue;
      if (float32ToFloat16Bits(decodeHalf(h)) !== h) wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });

  it('converts edge cases of BF16 exactly', () => {
    expect(float32ToBfloat16Bits(1)).toBe(0x3f80);
    expect(float32ToBfloat16Bits(1 + 2 ** -8)).toBe(0x3f80); // tie → even
    expect(float32ToBfloat16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82); // tie → even (up)
    expect(float32ToBfloat16Bits(1 + 2 ** -8 + 2 ** -20)).toBe(0x3f81);
    expect(float32ToBfloat16Bits(-Infinity)).toBe(0xff80);
    const nan = float32ToBfloat16Bits(NaN);
    expect(Number.isNaN(decodeBf16(nan))).toBe(true);
    const wrong: number[] = [];
    for (let h = 0; h < 0x10000; h++) {
      const x = decodeBf16(h);
      if (!Number.isNaN(x) && float32ToBfloat16Bits(x) !== h) wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });

  it('keeps custom metadata and rejects bad input with a typed error', () => {
    const read = readSafetensorsIndependently(writeSafetensors(sample(), { metadata: { format: 'pt', note: 'x' } }));
    expect(read.metadata).toEqual({ format: 'pt', note: 'x' });
    const bad = () => writeSafetensors([['w', { shape: [2, 2], data: new Float32Array(3) }]]);
    expect(bad).toThrow(AppError);
    expect(bad).toThrow(/shape \[2, 2\] but 3 values/);
    expect(() =>
      writeSafetensors([
        ['w', { shape: [1], data: new Float32Array(1) }],
        ['w', { shape: [1], data: new Float32Array(1) }],
      ]),
    ).toThrow(/listed twice/);
    expect(() => writeSafetensors([['__metadata__', { shape: [1], data: new Float32Array(1) }]])).toThrow(AppError);
  });

  it("is read back by the runtime's safetensors reader (src/core/io/safetensors.ts)", async () => {
    for (const dtype of ['F32', 'F16', 'BF16'] as const) {
      const tensors = sample();
      const bytes = writeSafetensors(tensors, { dtype });
      const file = await SafetensorsFile.open(bytesSource('written.safetensors', bytes));
      expect(file.metadata).toEqual({ format: 'pt' });
      expect(file.names()).toEqual([...tensors.keys()]);
      const independent = readSafetensorsIndependently(bytes);
      for (const [name, t] of tensors) {
        const r = await file.read(name);
        expect(r.stored).toBe(dtype);
        expect(r.shape).toEqual(t.shape);
        expect(Array.from(r.values.data)).toEqual(Array.from(independent.tensors.get(name)!.values));
      }
    }
  });
});

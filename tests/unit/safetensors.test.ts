/** The safetensors reader: spec-conformant files read exactly, and every kind of malformed file refused by name. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/core/errors.ts';
import { blobSource, bytesSource, type ByteSource } from '../../src/core/io/byte-source.ts';
import { halfToFloat } from '../../src/core/io/dtypes.ts';
import { MAX_HEADER_BYTES, SafetensorsFile } from '../../src/core/io/safetensors.ts';
import { fixturesDir } from '../fixtures/paths.ts';
import { concat, rawSafetensors, safetensorsBytes } from '../fixtures/safetensors-bytes.ts';

const FILE = 'model.safetensors';

async function open(bytes: Uint8Array, name = FILE): Promise<SafetensorsFile> {
  return SafetensorsFile.open(bytesSource(name, bytes));
}

async function refusal(bytes: Uint8Array): Promise<AppError> {
  try {
    await open(bytes);
  } catch (e) {
    if (e instanceof AppError) return e;
    throw new Error(`expected an AppError, got ${String(e)}`);
  }
  throw new Error('the file was accepted');
}

/** A header + data where `entries` are written as given (no checking): for crafting broken files. */
function crafted(entries: Record<string, unknown>, dataBytes: number): Uint8Array {
  return rawSafetensors(JSON.stringify(entries), new Uint8Array(dataBytes));
}

function lengthPrefix(n: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setUint32(0, n, true);
  return out;
}

const f32 = (shape: number[], begin: number, end: number) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });

describe('reading valid files', () => {
  it('reads F32, F16 and BF16 widened to float32, exactly', async () => {
    const values = [0, -0.5, 1.25, 3.140625, -65504, 6.103515625e-5, 5.960464477539063e-8];
    const file = await open(
      safetensorsBytes(
        {
          a: { dtype: 'F32', shape: [7], data: values },
          b: { dtype: 'F16', shape: [7], data: values },
          c: { dtype: 'BF16', shape: [1, 7], data: [0, -0.5, 1.25, 3.140625, -65536, 1e-5, 2] },
        },
        { format: 'pt' },
      ),
    );
    expect(file.metadata).toEqual({ format: 'pt' });
    expect(file.names()).toEqual(['a', 'b', 'c']);
    const a = await file.read('a');
    expect(a.values.dtype).toBe('float32');
    expect(Array.from(a.values.data)).toEqual(values.map(Math.fround));
    expect(Array.from((await file.read('b')).values.data)).toEqual(values);
    const c = await file.read('c');
    expect(c.shape).toEqual([1, 7]);
    expect(c.stored).toBe('BF16');
    // 1e-5 as bfloat16 is 0x3728 → 1.0013580322265625e-5.
    expect(Array.from(c.values.data)).toEqual([0, -0.5, 1.25, 3.140625, -65536, 1.0013580322265625e-5, 2]);
  });

  it('widens F16 special values', () => {
    expect(halfToFloat(0x7c00)).toBe(Infinity);
    expect(halfToFloat(0xfc00)).toBe(-Infinity);
    expect(halfToFloat(0x7e00)).toBeNaN();
    expect(halfToFloat(0x0001)).toBe(2 ** -24);
    expect(Object.is(halfToFloat(0x8000), -0)).toBe(true);
  });

  it('reads integer and bool dtypes as int32, and refuses 64-bit values int32 cannot hold', async () => {
    const i64 = new BigInt64Array([-3n, 7n, 2147483647n]);
    const u8 = new Uint8Array([0, 255, 1, 0]);
    const header = {
      big: { dtype: 'I64', shape: [3], data_offsets: [0, 24] },
      bytes: { dtype: 'U8', shape: [2, 2], data_offsets: [24, 28] },
      mask: { dtype: 'BOOL', shape: [4], data_offsets: [28, 32] },
      huge: { dtype: 'I64', shape: [1], data_offsets: [32, 40] },
    };
    const data = concat([new Uint8Array(i64.buffer), u8, new Uint8Array([1, 0, 0, 1]), new Uint8Array(new BigInt64Array([2n ** 40n]).buffer)]);
    const file = await open(rawSafetensors(JSON.stringify(header), data));
    expect(await file.read('big')).toMatchObject({ values: { dtype: 'int32', data: new Int32Array([-3, 7, 2147483647]) } });
    expect(Array.from((await file.read('bytes')).values.data)).toEqual([0, 255, 1, 0]);
    expect(Array.from((await file.read('mask')).values.data)).toEqual([1, 0, 0, 1]);
    await expect(file.read('huge')).rejects.toThrow(/model.safetensors: tensor "huge": value 1099511627776 at index 0 does not fit in int32/);
  });

  it('accepts zero-size tensors, an empty file body and a header padded with spaces', async () => {
    const file = await open(crafted({ empty: f32([0, 4], 0, 0), one: f32([1], 0, 4) }, 4));
    expect((await file.read('empty')).values.data).toHaveLength(0);
    expect((await open(rawSafetensors('{}', new Uint8Array(0)))).names()).toEqual([]);
  });

  it('reads the fixture checkpoint (BF16) lazily: header first, then only the bytes of the tensor asked for', async () => {
    const bytes = new Uint8Array(readFileSync(join(fixturesDir(), 'tiny-qwen2/model/model.safetensors')));
    const reads: Array<[number, number]> = [];
    const inner = bytesSource(FILE, bytes);
    const counting: ByteSource = { name: FILE, size: inner.size, read: (o, n) => (reads.push([o, n]), inner.read(o, n)) };
    const file = await SafetensorsFile.open(counting);
    expect(reads).toHaveLength(2);
    expect(reads[0]).toEqual([0, 8]);
    const entry = file.entry('model.norm.weight')!;
    expect(entry).toMatchObject({ dtype: 'BF16', shape: [96] });
    const t = await file.read('model.norm.weight');
    expect(reads[2]).toEqual([file.header.dataStart + entry.begin, 192]);
    expect(t.values.data).toHaveLength(96);
    expect(file.names()).not.toContain('lm_head.weight'); // tied embeddings
    // The same through a Blob (a picked File, a cached Response).
    const viaBlob = await SafetensorsFile.open(blobSource(FILE, new Blob([bytes])));
    expect(Array.from((await viaBlob.read('model.norm.weight')).values.data)).toEqual(Array.from(t.values.data));
  });
});

describe('refusing malformed files (AppError "safetensors" naming file, tensor and problem)', () => {
  const good = safetensorsBytes({ w: { dtype: 'F32', shape: [2, 2], data: [1, 2, 3, 4] } });
  const cases: Array<[string, () => Uint8Array, RegExp]> = [
    ['a file shorter than the length prefix', () => new Uint8Array(5), /model.safetensors: header: the file is 5 bytes, too short/],
    ['a header length past the end of the file', () => rawSafetensors('{}', new Uint8Array(0), 4096), /header: the declared header length 4096 runs past the end of the file \(16 bytes\)/],
    ['a declared header over 100 MB', () => rawSafetensors('{}', new Uint8Array(0), MAX_HEADER_BYTES + 1), /header: it declares a 100000001-byte header; the limit is 100000000 bytes/],
    ['a header length with the high 32 bits set', () => rawSafetensors('{}', new Uint8Array(0), 2n ** 40n), /it declares a 1099511627776-byte header/],
    ['a truncated header (cut inside the JSON)', () => good.slice(0, 8 + 20), /header: the declared header length \d+ runs past the end of the file \(28 bytes\)/],
    ['a header that is not JSON', () => rawSafetensors('{"w": {dtype: F32}}', new Uint8Array(0)), /header: the header is not valid JSON/],
    ['a header that is not UTF-8', () => concat([lengthPrefix(8), new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])]), /header: the header is not valid UTF-8/],
    ['a header that is a JSON array', () => rawSafetensors('[1, 2]', new Uint8Array(0)), /header: the header does not start with "\{"/],
    ['an entry that is not an object', () => crafted({ w: 5 }, 0), /tensor "w": the entry is not an object/],
    ['an unknown dtype', () => crafted({ w: { dtype: 'F13', shape: [1], data_offsets: [0, 4] } }, 4), /tensor "w": unknown dtype "F13"/],
    ['a negative dimension', () => crafted({ w: f32([-1, 4], 0, 16) }, 16), /tensor "w": shape \[-1,4\] is not a list of non-negative integers/],
    ['a non-integer dimension', () => crafted({ w: f32([1.5, 2], 0, 12) }, 12), /tensor "w": shape \[1.5,2\] is not a list/],
    ['dtype × shape different from the byte span', () => crafted({ w: f32([2, 3], 0, 20) }, 20), /tensor "w": dtype F32 × shape \[2,3\] is 24 bytes, but data_offsets \[0, 20\] span 20/],
    ['data offsets past the end of the file', () => crafted({ w: f32([4], 0, 16) }, 8), /tensor "w": data_offsets \[0, 16\] run past the end of the file \(the data section is 8 bytes\)/],
    ['offsets that end before they begin', () => crafted({ w: f32([0], 8, 4) }, 8), /tensor "w": data_offsets \[8, 4\] end before they begin/],
    ['offsets that are not a pair', () => crafted({ w: { dtype: 'F32', shape: [1], data_offsets: [0] } }, 4), /tensor "w": data_offsets \[0\] is not a pair/],
    ['overlapping tensors', () => crafted({ a: f32([4], 0, 16), b: f32([2], 8, 16) }, 16), /tensor "b": its bytes \[8, 16\] overlap tensor "a"/],
    ['a gap between tensors', () => crafted({ a: f32([2], 0, 8), b: f32([2], 12, 20) }, 20), /tensor "b": there is a gap of 4 unlisted bytes before it/],
    ['bytes after the last tensor', () => crafted({ a: f32([2], 0, 8) }, 12), /header: 4 bytes after the last tensor are not described by the header/],
    ['the same tensor name twice', () => rawSafetensors('{"a": {"dtype":"F32","shape":[1],"data_offsets":[0,4]}, "a": {"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', new Uint8Array(8)), /tensor "a": the name appears twice in the header/],
    ['a __proto__ entry', () => rawSafetensors('{"__proto__": {"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', new Uint8Array(4)), /tensor "__proto__": the name "__proto__" is not allowed/],
    ['metadata with a non-string value', () => crafted({ __metadata__: { format: 1 } }, 0), /tensor "__metadata__": the value of "format" is not a string/],
    ['an empty header', () => rawSafetensors('', new Uint8Array(0)), /header: the header does not start with "\{"/],
  ];
  for (const [what, bytes, message] of cases) {
    it(what, async () => {
      const e = await refusal(bytes());
      expect(e.code).toBe('safetensors');
      expect(e.message).toMatch(message);
      expect(e.message).toContain('model.safetensors');
      expect(e.message).toMatch(/download or export it again/);
    });
  }

  it(`has at least 10 corrupted-file cases (${cases.length})`, () => {
    expect(cases.length).toBeGreaterThanOrEqual(10);
  });

  it('never pollutes Object.prototype through a header', async () => {
    await refusal(rawSafetensors('{"__proto__": {"polluted": "yes"}}', new Uint8Array(0)));
    await open(rawSafetensors('{"__metadata__": {"__proto__": "x", "constructor": "y"}}', new Uint8Array(0)));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

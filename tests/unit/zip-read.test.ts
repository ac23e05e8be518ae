/**
 * The one zip reader (src/core/io/zip-read.ts) and the imports that use it: adapter zips, dropped model zips
 * (bundles: tests/unit/db-bundle.test.ts). Hostile archives are built here byte by byte (rawZip), so that
 * headers can lie in ways no zip writer would produce; zip bombs are made with fflate from zeros.
 */
import { deflateSync, unzipSync, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/core/errors.ts';
import { crc32 } from '../../src/core/io/crc32.ts';
import { listZip, readZipEntries, ZipError, type ZipLimits, type ZipReadOptions } from '../../src/core/io/zip-read.ts';
import { readAdapterUpload } from '../../src/ui/adapters/adapter-import.ts';
import { readDrop } from '../../src/ui/lib/dropped-files.ts';

const enc = new TextEncoder();
const MiB = 2 ** 20;
const LIMITS: ZipLimits = { fileBytes: 64 * MiB, entries: 100, entryBytes: 16 * MiB, totalBytes: 32 * MiB, ratio: 500 };

interface RawEntry {
  name: string;
  /** Unpacked bytes (packed here with `method`). */
  data: Uint8Array;
  method?: 0 | 8 | 12;
  flags?: number;
  /** Overrides of what the headers declare. */
  size?: number;
  localSize?: number;
  crc?: number;
  extra?: Uint8Array;
  /** Point the directory record at another entry's local header (by index). */
  offsetOf?: number;
}

/** A zip written field by field: local headers and data, the central directory, the end record. */
function rawZip(entries: RawEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  const offsets: number[] = [];
  let at = 0;
  const header = (n: number) => {
    const b = new Uint8Array(n);
    return { b, dv: new DataView(b.buffer) };
  };
  for (const e of entries) {
    const name = enc.encode(e.name);
    const method = e.method ?? 8;
    const packed = method === 8 ? deflateSync(e.data, { level: 9 }) : e.data;
    const crc = e.crc ?? crc32(e.data);
    const size = e.size ?? e.data.length;
    const extra = e.extra ?? new Uint8Array(0);
    const l = header(30);
    l.dv.setUint32(0, 0x04034b50, true);
    l.dv.setUint16(4, 20, true);
    l.dv.setUint16(6, e.flags ?? 0, true);
    l.dv.setUint16(8, method, true);
    l.dv.setUint32(14, crc, true);
    l.dv.setUint32(18, packed.length, true);
    l.dv.setUint32(22, e.localSize ?? size, true);
    l.dv.setUint16(26, name.length, true);
    offsets.push(at);
    parts.push(l.b, name, packed);
    const c = header(46);
    c.dv.setUint32(0, 0x02014b50, true);
    c.dv.setUint16(4, 20, true);
    c.dv.setUint16(6, 20, true);
    c.dv.setUint16(8, e.flags ?? 0, true);
    c.dv.setUint16(10, method, true);
    c.dv.setUint32(16, crc, true);
    c.dv.setUint32(20, packed.length, true);
    c.dv.setUint32(24, size, true);
    c.dv.setUint16(28, name.length, true);
    c.dv.setUint16(30, extra.length, true);
    central.push(c.b, name, extra);
    at += 30 + name.length + packed.length;
  }
  // Directory records may point at another entry's local header.
  let k = 0;
  for (let i = 0; i < entries.length; i++) {
    new DataView(central[k].buffer).setUint32(42, offsets[entries[i].offsetOf ?? i], true);
    k += 3;
  }
  const cdSize = central.reduce((n, b) => n + b.length, 0);
  const end = header(22);
  end.dv.setUint32(0, 0x06054b50, true);
  end.dv.setUint16(8, entries.length, true);
  end.dv.setUint16(10, entries.length, true);
  end.dv.setUint32(12, cdSize, true);
  end.dv.setUint32(16, at, true);
  const all = [...parts, ...central, end.b];
  const out = new Uint8Array(all.reduce((n, b) => n + b.length, 0));
  let p = 0;
  for (const b of all) {
    out.set(b, p);
    p += b.length;
  }
  return out;
}

function refusal(bytes: Uint8Array, o: Partial<ZipReadOptions> = {}): ZipError {
  try {
    readZipEntries(bytes, { limits: LIMITS, ...o });
  } catch (e) {
    if (e instanceof ZipError) {
      expect(e.code).toBe('zip-invalid');
      expect(e.message).not.toContain('\n');
      return e;
    }
    throw e;
  }
  throw new Error('expected a refusal');
}

const text = (s: string) => enc.encode(s);

describe('good archives', () => {
  it('reads what fflate writes (stored and deflated), leaves directories out, checks every CRC', () => {
    const files = { 'model/config.json': text('{"a": 1}'), 'model/weights.bin': new Uint8Array(5000).map((_, i) => i % 251) };
    const zip = zipSync({ 'model/': [new Uint8Array(0), {}], 'model/config.json': files['model/config.json'], 'model/weights.bin': [files['model/weights.bin'], { level: 0 }] });
    const out = readZipEntries(zip, { limits: LIMITS });
    expect([...out.keys()]).toEqual(['model/config.json', 'model/weights.bin']);
    expect(out.get('model/weights.bin')).toEqual(files['model/weights.bin']);
    expect(listZip(zip, { limits: LIMITS }).map((e) => [e.name, e.directory, e.bytes])).toEqual([
      ['model/', true, 0],
      ['model/config.json', false, 8],
      ['model/weights.bin', false, 5000],
    ]);
  });

  it('inflates only the entries the caller wants', () => {
    const stats = { inflatedBytes: 0 };
    const zip = rawZip([{ name: 'a.json', data: text('{}') }, { name: 'big.bin', data: new Uint8Array(100_000).fill(7) }]);
    const out = readZipEntries(zip, { limits: LIMITS, want: (n) => n.endsWith('.json'), stats });
    expect([...out.keys()]).toEqual(['a.json']);
    expect(stats.inflatedBytes).toBe(2);
  });
});

describe('refused from the headers, before anything is inflated', () => {
  const cases: Array<[string, () => Uint8Array, RegExp, Partial<ZipReadOptions>?]> = [
    ['not a zip', () => text('{"experiment": 1}'), /it is not a readable zip archive/],
    ['truncated', () => rawZip([{ name: 'a.txt', data: text('hello') }]).subarray(0, 40), /damaged or truncated \(its end-of-archive record is missing\)/],
    ['duplicate entries', () => rawZip([{ name: 'adapter_config.json', data: text('{"r": 4}') }, { name: 'adapter_config.json', data: text('{"r": 64}') }]), /the entry adapter_config\.json appears twice/],
    ['a path out of the folder', () => rawZip([{ name: '../../evil.sh', data: text('x') }]), /the entry name "\.\.\/\.\.\/evil\.sh" is not a safe path/],
    ['an absolute path', () => rawZip([{ name: '/etc/passwd', data: text('x') }]), /"\/etc\/passwd" is not a safe path/],
    ['a drive letter', () => rawZip([{ name: 'C:/x', data: text('x') }]), /"C:\/x" is not a safe path/],
    ['a backslash', () => rawZip([{ name: 'a\\b', data: text('x') }]), /is not a safe path/],
    ['a control character', () => rawZip([{ name: 'a\nb', data: text('x') }]), /the entry name "a\\nb" is not a safe path/],
    ['an empty path segment', () => rawZip([{ name: 'a//b', data: text('x') }]), /"a\/\/b" is not a safe path/],
    ['a name the caller does not expect', () => rawZip([{ name: 'x.sh', data: text('x') }]), /only json here/, { checkName: (n) => (n.endsWith('.json') ? null : 'only json here') }],
    ['encryption', () => rawZip([{ name: 'a.txt', data: text('x'), flags: 1 }]), /the entry a\.txt is encrypted/],
    ['another method (bzip2)', () => rawZip([{ name: 'a.txt', data: text('x'), method: 12 }]), /unsupported compression method \(12\)/],
    ['ZIP64 sizes', () => rawZip([{ name: 'a.txt', data: text('x'), extra: new Uint8Array([1, 0, 0, 0]) }]), /has ZIP64 sizes/],
    ['too many entries', () => rawZip(Array.from({ length: 101 }, (_, i) => ({ name: `f${i}`, data: text('x') }))), /it has more than 100 entries/],
    ['an entry over its limit (declared)', () => rawZip([{ name: 'a.bin', data: new Uint8Array(17 * MiB) }]), /the entry a\.bin unpacks to 17 MiB; at most 16 MiB is allowed/],
    ['entries over the total (declared)', () => rawZip([0, 1, 2].map((i) => ({ name: `${i}.bin`, data: new Uint8Array(12 * MiB), method: 0 as const }))), /its entries unpack to more than 32 MiB in total/],
    ['a per-name limit', () => rawZip([{ name: 'a.json', data: new Uint8Array(2 * MiB) }]), /a\.json unpacks to 2 MiB; at most 1 MiB/, { entryLimit: () => MiB }],
    ['a stored entry whose sizes differ', () => rawZip([{ name: 'a.bin', data: text('hello'), method: 0, size: 4 }]), /is stored unpacked but declares 5 packed and 4 unpacked bytes/],
    ['local and central headers that disagree', () => rawZip([{ name: 'a.txt', data: text('hello world'), localSize: 3 }]), /a\.txt declares 11 unpacked bytes in the zip's directory but 3 in its local header/],
    ['two directory records for one local header', () => rawZip([{ name: 'a.txt', data: text('x') }, { name: 'a.txt ', data: text('y'), offsetOf: 0 }]), /"?a\.txt "? has another name in its local header|share bytes/],
  ];
  for (const [name, make, says, options] of cases) {
    it(name, () => {
      const stats = { inflatedBytes: 0 };
      expect(refusal(make(), { ...options, stats }).message).toMatch(says);
      expect(stats.inflatedBytes).toBe(0);
    });
  }

  it('an entry whose bytes lie inside another entry (overlapping files, a non-recursive zip bomb)', () => {
    // b.txt's local header and data sit inside a.bin's stored bytes; the directory points at both.
    const inner = rawZip([{ name: 'b.txt', data: text('hi'), method: 0 }]);
    const innerLocal = inner.subarray(0, 30 + 5 + 2);
    const zip = rawZip([{ name: 'a.bin', data: innerLocal, method: 0 }]);
    // Add a directory record for b.txt at a.bin's data offset (30 + 5), then fix the end record.
    const cdStart = new DataView(zip.buffer).getUint32(zip.length - 22 + 16, true);
    const record = inner.subarray(new DataView(inner.buffer).getUint32(inner.length - 22 + 16, true), inner.length - 22).slice();
    new DataView(record.buffer).setUint32(42, 35, true);
    const out = new Uint8Array(zip.length + record.length);
    out.set(zip.subarray(0, zip.length - 22));
    out.set(record, zip.length - 22);
    out.set(zip.subarray(zip.length - 22), zip.length - 22 + record.length);
    const dv = new DataView(out.buffer, out.length - 22);
    dv.setUint16(8, 2, true);
    dv.setUint16(10, 2, true);
    dv.setUint32(12, out.length - 22 - cdStart, true);
    expect(Object.keys(unzipSync(out))).toEqual(['a.bin', 'b.txt']); // a lenient reader takes both
    expect(refusal(out).message).toMatch(/the entries a\.bin and b\.txt share bytes/);
  });
});

describe('refused while inflating: the reader stops as soon as an entry passes what it declared', () => {
  it('a lying size header (both headers under-declare)', () => {
    const data = text(Array.from({ length: 400 }, (_, i) => `{"prompt": "add ${(i * 7919) % 1009} and ${(i * 104729) % 997}"}\n`).join('')); // 12 KB of text
    const stats = { inflatedBytes: 0 };
    const e = refusal(rawZip([{ name: 'tasks.jsonl', data, size: 100 }]), { stats });
    expect(e.message).toBe('The zip file was refused: the entry tasks.jsonl unpacks to more than the 100 bytes its header declares. Nothing was imported.');
    expect(stats.inflatedBytes).toBeLessThan(data.length);
  });

  it('a header that over-declares (fewer bytes come out)', () => {
    const e = refusal(rawZip([{ name: 'a.txt', data: text('short'), size: 50 }]));
    expect(e.message).toMatch(/the entry a\.txt unpacks to 5 bytes, not the 50 its header declares/);
  });

  it('a wrong CRC-32 (damaged bytes)', () => {
    expect(refusal(rawZip([{ name: 'a.txt', data: text('hello'), crc: 1234 }])).message).toMatch(/the entry a\.txt is damaged \(its CRC-32 checksum does not match\)/);
    expect(refusal(rawZip([{ name: 'a.txt', data: text('hello'), method: 0, crc: 1234 }])).message).toMatch(/CRC-32 checksum does not match/);
  });

  it('zip bombs made from 8 MiB of zeros: refused by ratio from the header, or stopped within 264 KiB', () => {
    const zeros = new Uint8Array(8 * MiB);
    const honest = rawZip([{ name: 'zeros.bin', data: zeros }]);
    expect(honest.length).toBeLessThan(16 * 1024); // a few KiB that would inflate to 8 MiB
    expect(unzipSync(honest)['zeros.bin'].length).toBe(8 * MiB); // what a lenient reader does

    const stats = { inflatedBytes: 0 };
    expect(refusal(honest, { stats }).message).toMatch(/the entry zeros\.bin would unpack to \d+ times its packed size \(at most 500 times is allowed\), as a zip bomb does/);
    expect(stats.inflatedBytes).toBe(0);

    // The same bomb with headers that claim 1000 bytes: passes every header check, is caught while inflating.
    const lying = rawZip([{ name: 'zeros.bin', data: zeros, size: 1000 }]);
    const seen = { inflatedBytes: 0 };
    expect(refusal(lying, { stats: seen }).message).toMatch(/zeros\.bin unpacks to more than the 1000 bytes its header declares/);
    expect(seen.inflatedBytes).toBeGreaterThan(1000);
    expect(seen.inflatedBytes).toBeLessThan(264 * 1024 + 1000);
    console.log(`zip bomb (8 MiB of zeros in ${honest.length} bytes, header claiming 1000 bytes): inflated ${seen.inflatedBytes} bytes before stopping`);
  });
});

describe('imports that use it', () => {
  const config = text(JSON.stringify({ peft_type: 'LORA', r: 4, lora_alpha: 8, target_modules: ['q_proj'] }));
  const file = (bytes: Uint8Array, name: string) => new File([bytes as Uint8Array<ArrayBuffer>], name);

  it('an adapter zip: the PEFT pair is read, a README or adapter.gguf is only checked from its header', async () => {
    const zip = rawZip([
      { name: 'my-adapter/adapter_config.json', data: config },
      { name: 'my-adapter/adapter_model.safetensors', data: text('W'), method: 0 },
      { name: 'my-adapter/README.md', data: text('# card') },
    ]);
    expect(await readAdapterUpload([file(zip, 'a.zip')])).toEqual({ adapterConfig: new TextDecoder().decode(config), safetensors: text('W') });
  });

  it('an adapter zip with two adapter_config.json entries, a lying header or a bomb is refused', async () => {
    const refused = async (zip: Uint8Array) => {
      const e = await readAdapterUpload([file(zip, 'a.zip')]).then(
        () => null,
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(AppError);
      expect((e as AppError).code).toBe('zip-invalid');
      return (e as AppError).message;
    };
    const weights = { name: 'adapter_model.safetensors', data: text('W'), method: 0 as const };
    expect(await refused(rawZip([{ name: 'adapter_config.json', data: config }, { name: 'adapter_config.json', data: text('{}') }, weights]))).toMatch(/adapter_config\.json appears twice/);
    expect(await refused(rawZip([{ name: 'adapter_config.json', data: config, size: 10 }, weights]))).toMatch(/unpacks to more than the 10 bytes/);
    expect(await refused(rawZip([{ name: 'adapter_config.json', data: config }, weights, { name: 'README.md', data: new Uint8Array(8 * MiB) }]))).toMatch(/README\.md would unpack to \d+ times its packed size/);
  });

  it('a dropped zip of a model folder gives the folder’s top-level files; a hostile one is refused', async () => {
    const zip = zipSync({ 'model/config.json': text('{}'), 'model/tokenizer.json': text('{}'), 'model/.hidden': text('x'), 'model/sub/x.json': text('{}') });
    const folder = await readDrop([{ kind: 'file', webkitGetAsEntry: () => null, getAsFile: () => file(zip, 'SmolLM2.zip') }]);
    expect(folder.name).toBe('SmolLM2');
    expect(folder.files.map((f) => f.name).sort()).toEqual(['config.json', 'tokenizer.json']);
    expect(await folder.files[0].text()).toBe('{}');
    const bad = rawZip([{ name: 'config.json', data: text('{}') }, { name: 'config.json', data: text('{"x": 1}') }]);
    await expect(readDrop([{ kind: 'file', webkitGetAsEntry: () => null, getAsFile: () => file(bad, 'm.zip') }])).rejects.toThrow(/the entry config\.json appears twice/);
  });
});

/**
 * The one zip reader every import uses: experiment bundles, adapter zips, dropped model zips.
 *
 * It reads the archive's own directory first and refuses, before inflating a byte: a file over the size limit,
 * more entries than allowed, names that are unsafe (absolute, `..`, backslashes, control characters) or that
 * the caller does not expect, the same name twice, encryption, ZIP64, methods other than stored and deflate,
 * declared sizes over the per-entry or total limits, a declared ratio (unpacked : packed) typical of zip bombs,
 * local headers that disagree with the directory, and entries whose bytes overlap.
 *
 * Then it inflates each wanted entry in small pieces into a buffer that grows up to the declared size, and stops
 * as soon as the entry gives one byte more than declared; fewer bytes, or a CRC-32 that does not match, is refused
 * too. A piece of packed input is at most 1/1032 of what may still come out (deflate's largest ratio), at
 * least 256 bytes, so a zip bomb whose header lies inflates at most about 264 KiB past its declared size.
 *
 * Every refusal is one line naming the entry; `fail` turns it into the caller's error (bundle-invalid for
 * bundles), the default is a ZipError ('zip-invalid').
 */
import { Inflate } from 'fflate';
import { AppError } from '../errors.ts';
import { crc32 } from './crc32.ts';

export interface ZipLimits {
  /** The zip file itself. */
  fileBytes: number;
  /** Entries in the archive, directories included. */
  entries: number;
  /** One entry, unpacked (callers may lower it per name with `entryLimit`). */
  entryBytes: number;
  /** All entries together, unpacked (wanted or not). */
  totalBytes: number;
  /** Largest unpacked : packed ratio of an entry above RATIO_FLOOR unpacked bytes. */
  ratio: number;
}

/** Entries smaller than this are not held to the ratio limit (a small file of one repeated byte is harmless). */
export const RATIO_FLOOR = 2 ** 20;

/** Deflate's largest possible ratio (258-byte matches coded in 2 bits, about 1032 : 1). */
const MAX_DEFLATE_RATIO = 1032;
const MIN_PIECE = 256;
const MAX_PIECE = 64 * 1024;

export interface ZipReadOptions {
  limits: ZipLimits;
  /** The per-entry limit for this name (default `limits.entryBytes`). */
  entryLimit?: (name: string) => number;
  /** A problem with this entry's name (a directory's ends in "/"), or null to accept it; asked before the generic checks. */
  checkName?: (name: string) => string | null;
  /** Whether to inflate this file entry (default all). Unwanted entries are still checked from their headers. */
  want?: (name: string, names: readonly string[]) => boolean;
  /** Builds the error from a one-line detail (default a ZipError). */
  fail?: (detail: string) => AppError;
  /** Counts what was inflated, including the piece that passed a limit (for tests and measurements). */
  stats?: { inflatedBytes: number };
}

/** What the zip's directory says about one entry, after every check on the headers. */
export interface ZipEntry {
  name: string;
  directory: boolean;
  /** 0 stored, 8 deflate. */
  method: number;
  packedBytes: number;
  /** Unpacked size, as declared (and, once read, as checked). */
  bytes: number;
  crc: number;
  /** Where the packed bytes start in the zip file. */
  dataStart: number;
}

export class ZipError extends AppError {
  readonly detail: string;
  constructor(detail: string) {
    super('zip-invalid', `The zip file was refused: ${detail}. Nothing was imported.`);
    this.name = 'ZipError';
    this.detail = detail;
  }
}

export function mib(n: number): string {
  return `${(n / 2 ** 20).toFixed(n < 2 ** 20 ? 2 : 0)} MiB`;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_END = 0x06054b50;
const ZIP64_EXTRA = 0x0001;
const shown = (name: string): string => JSON.stringify(name.length > 100 ? `${name.slice(0, 100)}…` : name);

/** Checks the archive from its headers alone and lists its entries; inflates nothing. */
export function listZip(bytes: Uint8Array, o: ZipReadOptions): ZipEntry[] {
  const fail = o.fail ?? ((d: string) => new ZipError(d));
  const { limits } = o;
  if (bytes.length > limits.fileBytes) throw fail(`the file is ${mib(bytes.length)}; at most ${mib(limits.fileBytes)} can be read`);
  if (bytes.length < 22 || bytes[0] !== 0x50 || bytes[1] !== 0x4b) throw fail('it is not a readable zip archive');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (at: number) => dv.getUint16(at, true);
  const u32 = (at: number) => dv.getUint32(at, true);
  const damaged = (why: string) => fail(`the zip file is damaged or truncated (${why})`);

  const end = findEnd(dv);
  if (end < 0) throw damaged('its end-of-archive record is missing');
  const count = u16(end + 10);
  const cdSize = u32(end + 12);
  const cdOffset = u32(end + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) throw fail('it is a ZIP64 archive, which is not read here');
  if (u16(end + 4) !== 0 || u16(end + 6) !== 0 || u16(end + 8) !== count) throw fail('it is split over several disks');
  if (count > limits.entries) throw fail(`it has more than ${limits.entries} entries`);
  if (cdOffset + cdSize > end) throw damaged('its directory runs past its end');

  const entries: Array<ZipEntry & { local: number; nameBytes: Uint8Array }> = [];
  const names = new Set<string>();
  let total = 0;
  let p = cdOffset;
  const cdEnd = cdOffset + cdSize;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cdEnd || u32(p) !== SIG_CENTRAL) throw damaged('its directory is cut short');
    const flags = u16(p + 8);
    const method = u16(p + 10);
    const crc = u32(p + 16);
    const packedBytes = u32(p + 20);
    const size = u32(p + 24);
    const nameLength = u16(p + 28);
    const extraLength = u16(p + 30);
    const next = p + 46 + nameLength + extraLength + u16(p + 32);
    if (next > cdEnd) throw damaged('its directory is cut short');
    const nameBytes = bytes.subarray(p + 46, p + 46 + nameLength);
    const extra = bytes.subarray(p + 46 + nameLength, p + 46 + nameLength + extraLength);
    const local = u32(p + 42);
    p = next;

    const name = decodeName(nameBytes);
    if (name === null) throw fail('an entry name is not UTF-8 text');
    const problem = o.checkName?.(name) ?? unsafeName(name);
    if (problem) throw fail(problem);
    if (names.has(name)) throw fail(`the entry ${name} appears twice`);
    names.add(name);
    const directory = name.endsWith('/');
    if (flags & 1) throw fail(`the entry ${name} is encrypted`);
    if (method !== 0 && method !== 8) throw fail(`the entry ${name} uses an unsupported compression method (${method})`);
    if (hasExtra(extra, ZIP64_EXTRA)) throw fail(`the entry ${name} has ZIP64 sizes, which are not read here`);
    if (directory && size !== 0) throw fail(`the directory entry ${name} has contents`);
    const max = o.entryLimit?.(name) ?? limits.entryBytes;
    if (size > max) throw fail(`the entry ${name} unpacks to ${mib(size)}; at most ${mib(max)} is allowed`);
    total += size;
    if (total > limits.totalBytes) throw fail(`its entries unpack to more than ${mib(limits.totalBytes)} in total`);
    if (method === 0 && packedBytes !== size) throw fail(`the entry ${name} is stored unpacked but declares ${packedBytes} packed and ${size} unpacked bytes`);
    if (size > RATIO_FLOOR && size > limits.ratio * packedBytes) {
      throw fail(`the entry ${name} would unpack to ${Math.round(size / Math.max(1, packedBytes))} times its packed size (at most ${limits.ratio} times is allowed), as a zip bomb does`);
    }
    entries.push({ name, directory, method, packedBytes, bytes: size, crc, dataStart: 0, local, nameBytes });
  }

  // The local headers must agree with the directory, and no two entries may share bytes.
  let previous: { name: string; end: number } | null = null;
  for (const e of [...entries].sort((a, b) => a.local - b.local)) {
    const q = e.local;
    if (q + 30 > cdOffset || u32(q) !== SIG_LOCAL) throw fail(`the entry ${e.name} is damaged (its local header is missing)`);
    if (previous && q < previous.end) throw fail(`the entries ${previous.name} and ${e.name} share bytes`);
    const flags = u16(q + 6);
    const nameLength = u16(q + 26);
    const localName = bytes.subarray(q + 30, q + 30 + nameLength);
    if (nameLength !== e.nameBytes.length || localName.some((b, j) => b !== e.nameBytes[j])) {
      throw fail(`the entry ${e.name} has another name in its local header`);
    }
    if (u16(q + 8) !== e.method) throw fail(`the entry ${e.name} names two compression methods in its two headers`);
    if ((flags & 8) === 0 && (u32(q + 22) !== e.bytes || u32(q + 18) !== e.packedBytes || u32(q + 14) !== e.crc)) {
      throw fail(`the entry ${e.name} declares ${e.bytes} unpacked bytes in the zip's directory but ${u32(q + 22)} in its local header`);
    }
    e.dataStart = q + 30 + nameLength + u16(q + 28);
    const dataEnd = e.dataStart + e.packedBytes;
    if (dataEnd > cdOffset) throw damaged(`the data of ${e.name} runs into the directory`);
    previous = { name: e.name, end: dataEnd };
  }
  return entries.map(({ local: _l, nameBytes: _n, ...e }) => e);
}

/**
 * Checks the archive (see listZip) and returns its wanted file entries by name, each checked against its
 * declared size and CRC-32. Directories are left out.
 */
export function readZipEntries(bytes: Uint8Array, o: ZipReadOptions): Map<string, Uint8Array> {
  const fail = o.fail ?? ((d: string) => new ZipError(d));
  const entries = listZip(bytes, o);
  const names = entries.filter((e) => !e.directory).map((e) => e.name);
  const out = new Map<string, Uint8Array>();
  for (const e of entries) {
    if (e.directory || (o.want && !o.want(e.name, names))) continue;
    const data = unpack(bytes.subarray(e.dataStart, e.dataStart + e.packedBytes), e, fail, o.stats);
    if (crc32(data) !== e.crc) throw fail(`the entry ${e.name} is damaged (its CRC-32 checksum does not match)`);
    out.set(e.name, data);
  }
  return out;
}

class TooLong extends Error {}

function unpack(packed: Uint8Array, e: ZipEntry, fail: (d: string) => AppError, stats?: { inflatedBytes: number }): Uint8Array {
  if (e.method === 0) {
    if (stats) stats.inflatedBytes += packed.length;
    return packed.slice();
  }
  // Grown as bytes come (never past the declared size), so a header that lies about a large size costs nothing.
  let out = new Uint8Array(Math.min(e.bytes, Math.max(MAX_PIECE, 4 * packed.length)));
  let at = 0;
  const inflate = new Inflate((chunk) => {
    if (stats) stats.inflatedBytes += chunk.length;
    if (at + chunk.length > e.bytes) throw new TooLong();
    if (at + chunk.length > out.length) {
      const grown = new Uint8Array(Math.min(e.bytes, Math.max(2 * out.length, at + chunk.length)));
      grown.set(out.subarray(0, at));
      out = grown;
    }
    out.set(chunk, at);
    at += chunk.length;
  });
  try {
    let p = 0;
    do {
      // Small enough that even deflate's largest ratio cannot run far past what may still come out.
      const piece = Math.min(MAX_PIECE, Math.max(MIN_PIECE, Math.ceil((e.bytes - at + 1) / MAX_DEFLATE_RATIO)));
      const next = Math.min(packed.length, p + piece);
      inflate.push(packed.subarray(p, next), next === packed.length);
      p = next;
    } while (p < packed.length);
  } catch (err) {
    if (err instanceof TooLong) throw fail(`the entry ${e.name} unpacks to more than the ${e.bytes} bytes its header declares`);
    throw fail(`the entry ${e.name} is damaged (${err instanceof Error ? err.message : String(err)})`);
  }
  if (at !== e.bytes) throw fail(`the entry ${e.name} unpacks to ${at} bytes, not the ${e.bytes} its header declares`);
  return out;
}

/** The end-of-archive record: its signature, with a comment that ends exactly at the end of the file. */
function findEnd(dv: DataView): number {
  const last = dv.byteLength - 22;
  for (let at = last; at >= Math.max(0, last - 0xffff); at--) {
    if (dv.getUint32(at, true) === SIG_END && at + 22 + dv.getUint16(at + 20, true) === dv.byteLength) return at;
  }
  return -1;
}

function hasExtra(extra: Uint8Array, id: number): boolean {
  const dv = new DataView(extra.buffer, extra.byteOffset, extra.byteLength);
  for (let at = 0; at + 4 <= extra.length; at += 4 + dv.getUint16(at + 2, true)) {
    if (dv.getUint16(at, true) === id) return true;
  }
  return false;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeName(bytes: Uint8Array): string | null {
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

/** Why a name is unsafe to use as a path (directories end in "/"), or null. */
export function unsafeName(name: string): string | null {
  const path = name.endsWith('/') ? name.slice(0, -1) : name;
  const bad =
    path.length === 0 ||
    path.length > 1024 ||
    path.startsWith('/') ||
    /^[A-Za-z]:/.test(path) ||
    /[\\\u0000-\u001f\u007f]/.test(path) ||
    path.split('/').some((s) => s === '' || s === '.' || s === '..');
  return bad ? `the entry name ${shown(name)} is not a safe path` : null;
}

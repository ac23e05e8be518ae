/**
 * Zip reading and writing for bundles (fflate). Reading is defensive: entry names are matched against the
 * bundle's fixed list before anything is inflated, sizes are checked against the limits using the sizes the
 * zip declares (each entry is inflated into a buffer of exactly that size, so a lying header cannot make it
 * grow), and an entry whose real size differs from the declared one is refused.
 */
import { unzipSync, zipSync, type Zippable } from 'fflate';
import { AppError } from '../../core/errors.ts';
import { BLOB_ENTRY, ENTRY, type BundleLimits } from './format.ts';

const FIXED_ENTRIES = new Set<string>(Object.values(ENTRY));

export function bundleInvalid(detail: string): AppError {
  return new AppError('bundle-invalid', `This file is not a valid experiment bundle: ${detail}. Nothing was imported.`);
}

const mib = (n: number) => `${(n / 2 ** 20).toFixed(n < 2 ** 20 ? 2 : 0)} MiB`;

/** A DOS timestamp fixed at 1980-01-01, so the same content always gives the same zip bytes. */
const FIXED_MTIME = new Date(1980, 0, 1, 0, 0, 0);

export function writeZip(entries: Map<string, Uint8Array>): Uint8Array {
  const files: Zippable = {};
  for (const [name, data] of entries) {
    // Adapter weights (float32) barely compress; store them to save time.
    files[name] = [data, { level: BLOB_ENTRY.test(name) ? 0 : 6, mtime: FIXED_MTIME }];
  }
  return zipSync(files);
}

export function readZip(bytes: Uint8Array, limits: BundleLimits): Map<string, Uint8Array> {
  if (bytes.length > limits.fileBytes) {
    throw bundleInvalid(`the file is ${mib(bytes.length)}; bundles up to ${mib(limits.fileBytes)} can be imported`);
  }
  const isZip = bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && (bytes[2] === 3 || bytes[2] === 5);
  if (!isZip) throw bundleInvalid('it is not a zip file (bundles are .srs.zip files exported by Self-Refine Studio)');

  const declared = new Map<string, number>();
  let total = 0;
  let problem: string | null = null;
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes, {
      filter(file) {
        if (problem) return false;
        const name = file.name;
        if (name === 'adapters/') return false; // a directory entry some zip tools add
        if (!FIXED_ENTRIES.has(name) && !BLOB_ENTRY.test(name)) {
          problem = `it contains an unexpected entry ${JSON.stringify(name.slice(0, 100))}`;
          return false;
        }
        if (declared.has(name)) {
          problem = `the entry ${name} appears twice`;
          return false;
        }
        if (declared.size >= limits.entries) {
          problem = `it has more than ${limits.entries} entries`;
          return false;
        }
        if (file.compression !== 0 && file.compression !== 8) {
          problem = `the entry ${name} uses an unsupported compression method (${file.compression})`;
          return false;
        }
        const max = BLOB_ENTRY.test(name) ? limits.blobEntryBytes : limits.jsonEntryBytes;
        if (file.originalSize > max) {
          problem = `the entry ${name} unpacks to ${mib(file.originalSize)}; at most ${mib(max)} is allowed`;
          return false;
        }
        total += file.originalSize;
        if (total > limits.totalBytes) {
          problem = `its entries unpack to more than ${mib(limits.totalBytes)} in total`;
          return false;
        }
        declared.set(name, file.originalSize);
        return true;
      },
    });
  } catch (e) {
    throw bundleInvalid(`the zip file is damaged or truncated (${e instanceof Error ? e.message : String(e)})`);
  }
  if (problem) throw bundleInvalid(problem);
  const out = new Map<string, Uint8Array>();
  for (const [name, size] of declared) {
    const data = files[name];
    if (!data || data.length !== size) {
      throw bundleInvalid(`the entry ${name} is damaged (its size does not match the size the zip declares)`);
    }
    out.set(name, data);
  }
  return out;
}

/**
 * Zip reading and writing for bundles. Reading goes through the core zip reader (src/core/io/zip-read.ts):
 * entry names are matched against the bundle's fixed list and sizes against the bundle's limits before anything
 * is inflated, and an entry that inflates to more (or less) than it declares, or whose CRC-32 is wrong, is
 * refused.
 */
import { zipSync, type Zippable } from 'fflate';
import { AppError } from '../../core/errors.ts';
import { mib, readZipEntries } from '../../core/io/zip-read.ts';
import { BLOB_ENTRY, ENTRY, type BundleLimits } from './format.ts';

const FIXED_ENTRIES = new Set<string>(Object.values(ENTRY));

export function bundleInvalid(detail: string): AppError {
  return new AppError('bundle-invalid', `This file is not a valid experiment bundle: ${detail}. Nothing was imported.`);
}

/** Bundles hold JSON text, which deflates well; over 1 MiB, more than this ratio is a zip bomb's. */
const BUNDLE_MAX_RATIO = 500;

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

/** The bundle's entries, read by the core zip reader with the bundle's limits and its fixed list of names. */
export function readZip(bytes: Uint8Array, limits: BundleLimits, stats?: { inflatedBytes: number }): Map<string, Uint8Array> {
  if (bytes.length > limits.fileBytes) {
    throw bundleInvalid(`the file is ${mib(bytes.length)}; bundles up to ${mib(limits.fileBytes)} can be imported`);
  }
  const isZip = bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && (bytes[2] === 3 || bytes[2] === 5);
  if (!isZip) throw bundleInvalid('it is not a zip file (bundles are .srs.zip files exported by Self-Refine Studio)');
  return readZipEntries(bytes, {
    limits: { fileBytes: limits.fileBytes, entries: limits.entries, entryBytes: limits.blobEntryBytes, totalBytes: limits.totalBytes, ratio: BUNDLE_MAX_RATIO },
    entryLimit: (name) => (BLOB_ENTRY.test(name) ? limits.blobEntryBytes : limits.jsonEntryBytes),
    // A directory entry some zip tools add is skipped; nothing else outside the fixed list is accepted.
    checkName: (name) =>
      name === 'adapters/' || FIXED_ENTRIES.has(name) || BLOB_ENTRY.test(name) ? null : `it contains an unexpected entry ${JSON.stringify(name.slice(0, 100))}`,
    fail: bundleInvalid,
    stats,
  });
}

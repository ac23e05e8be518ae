/**
 * A model folder dropped on the page (drag and drop from the file manager), as the files the loader reads.
 *
 * A Hugging Face model folder keeps everything the loader opens at its top level (config.json, the weights or
 * their shards with the index, tokenizer files), so a dropped folder gives its top-level files, by name;
 * sub-folders and hidden entries are skipped. Loose files dropped together are taken as they are. One dropped
 * .zip is read as a zipped model folder, through the checked zip reader (src/core/io/zip-read.ts).
 *
 * The entries of a drop can be read only while its event runs: `readDrop` takes them from the items at once
 * (synchronously) and reads the folder's listing afterwards. Browsers whose drops carry no entries (or a
 * DataTransfer made by script) give the dropped files through `getAsFile()`.
 */
import { AppError } from '../../core/errors.ts';
import { unzipBlob } from '../../core/io/zip.ts';

/** The parts of the File and Directory Entries API read here (structural, so tests can pass plain objects). */
export interface EntryLike {
  readonly isFile: boolean;
  readonly isDirectory: boolean;
  readonly name: string;
}
export interface FileEntryLike extends EntryLike {
  file(ok: (file: File) => void, fail?: (e: unknown) => void): void;
}
export interface DirectoryEntryLike extends EntryLike {
  createReader(): { readEntries(ok: (entries: EntryLike[]) => void, fail?: (e: unknown) => void): void };
}
/** A DataTransferItem, as far as a drop is read here. */
export interface DropItemLike {
  readonly kind: string;
  webkitGetAsEntry(): EntryLike | null;
  getAsFile(): File | null;
}

export interface DroppedFolder {
  /** The dropped folder's name, or 'dropped files' for loose files. */
  name: string;
  files: File[];
}

const NOTHING = 'Nothing usable was dropped. Drop the model folder (the one holding config.json) from your file manager.';

/** Reads a drop's items: call it inside the `drop` handler, before any await. */
export function readDrop(items: ArrayLike<DropItemLike>): Promise<DroppedFolder> {
  // Synchronous part: items are only readable while the drop event is dispatched.
  const dirs: DirectoryEntryLike[] = [];
  const files: Array<File | FileEntryLike> = [];
  for (const item of Array.from(items)) {
    if (item.kind !== 'file') continue;
    const entry = item.webkitGetAsEntry();
    if (entry?.isDirectory) dirs.push(entry as DirectoryEntryLike);
    else if (entry?.isFile) files.push(entry as FileEntryLike);
    else {
      const f = item.getAsFile();
      if (f) files.push(f);
    }
  }
  return collect(dirs, files);
}

async function collect(dirs: DirectoryEntryLike[], loose: Array<File | FileEntryLike>): Promise<DroppedFolder> {
  if (dirs.length > 1 || (dirs.length === 1 && loose.length > 0)) {
    throw new AppError('bad-input', 'Drop one model folder at a time (or only the files inside it), not several folders or a folder with loose files.');
  }
  if (dirs.length === 1) {
    const entries = await listDirectory(dirs[0]);
    const fileEntries = entries.filter((e): e is FileEntryLike => e.isFile && !e.name.startsWith('.'));
    if (fileEntries.length === 0) throw new AppError('bad-input', `The folder "${dirs[0].name}" has no files at its top level. ${NOTHING}`);
    return { name: dirs[0].name, files: await Promise.all(fileEntries.map(fileOf)) };
  }
  if (loose.length === 0) throw new AppError('bad-input', NOTHING);
  const files = await Promise.all(loose.map((f) => (f instanceof File ? f : fileOf(f))));
  if (files.length === 1 && /\.zip$/i.test(files[0].name)) return unzipFolder(files[0]);
  return { name: 'dropped files', files };
}

/**
 * A zip of a model folder: its top-level files (or those of the one folder every entry is in), read by the
 * checked zip reader; sub-folders and hidden files are skipped as for a dropped folder, and not inflated.
 */
async function unzipFolder(zip: File): Promise<DroppedFolder> {
  const name = zip.name.replace(/\.zip$/i, '');
  const topLevel = (entry: string, names: readonly string[]): boolean => {
    const parts = entry.split('/');
    const shared = names.every((n) => n.includes('/') && n.split('/')[0] === parts[0]);
    const rest = shared ? parts.slice(1) : parts;
    return rest.length === 1 && !rest[0].startsWith('.');
  };
  const entries = await unzipBlob(zip, { want: topLevel });
  // What was wanted sits at the top or in the one shared folder: its name is its last part.
  const files = [...entries].map(([entry, bytes]) => new File([bytes as Uint8Array<ArrayBuffer>], entry.split('/').pop() as string));
  if (files.length === 0) throw new AppError('bad-input', `The zip "${zip.name}" has no files at its top level. ${NOTHING}`);
  return { name, files };
}

/** Every entry of a directory: `readEntries` answers in batches (about 100 in Chromium) until an empty one. */
async function listDirectory(dir: DirectoryEntryLike): Promise<EntryLike[]> {
  const reader = dir.createReader();
  const all: EntryLike[] = [];
  for (;;) {
    const batch = await new Promise<EntryLike[]>((ok, fail) => reader.readEntries(ok, (e) => fail(readFailed(dir.name, e))));
    if (batch.length === 0) return all;
    all.push(...batch);
  }
}

function fileOf(entry: FileEntryLike): Promise<File> {
  return new Promise((ok, fail) => entry.file(ok, (e) => fail(readFailed(entry.name, e))));
}

function readFailed(name: string, e: unknown): AppError {
  const why = e instanceof Error ? e.message : String(e);
  return new AppError('bad-input', `Could not read the dropped "${name}" (${why}). Pick the folder with the button instead.`, { cause: e });
}

/**
 * A model folder dropped on the tfjs model picker (src/ui/lib/dropped-files.ts): the drop's entries, read the
 * way Chromium hands them out (directory listings in batches, callbacks), become files the loader opens; the
 * dropped fixture folder loads and gives the reference logits. Entries here are plain objects in the shape of
 * the File and Directory Entries API; the files in them are the fixture's real bytes.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { useNodeBackend } from '../../src/cli/node-backend.ts';
import { AppError } from '../../src/core/errors.ts';
import { filesSource } from '../../src/core/io/files-source.ts';
import { forward } from '../../src/core/model/llama.ts';
import { loadModel } from '../../src/core/model/load.ts';
import {
  readDrop,
  type DirectoryEntryLike,
  type DropItemLike,
  type EntryLike,
  type FileEntryLike,
} from '../../src/ui/lib/dropped-files.ts';
import { maxAbsDiff, modelDir, reference } from '../fixtures/reference.ts';

function fileEntry(file: File, failWith?: Error): FileEntryLike {
  return {
    isFile: true,
    isDirectory: false,
    name: file.name,
    // Async like the browser: the callback comes on a later task.
    file: (ok, fail) => void setTimeout(() => (failWith ? fail?.(failWith) : ok(file)), 0),
  };
}

/** A directory whose reader answers in batches of `batch` entries, then an empty batch (as Chromium does). */
function dirEntry(name: string, entries: EntryLike[], batch = 2): DirectoryEntryLike {
  return {
    isFile: false,
    isDirectory: true,
    name,
    createReader() {
      let at = 0;
      return {
        readEntries: (ok) =>
          void setTimeout(() => {
            ok(entries.slice(at, at + batch));
            at += batch;
          }, 0),
      };
    },
  };
}

/** A DataTransferItem whose entry (or file) is only readable while the drop event runs (`live`). */
function item(entry: EntryLike | null, file: File | null, live: { open: boolean }): DropItemLike {
  return {
    kind: 'file',
    webkitGetAsEntry: () => (live.open ? entry : null),
    getAsFile: () => (live.open ? file : null),
  };
}

/** Dispatches a "drop": items are readable during the call only, as in the browser. */
function drop(make: (live: { open: boolean }) => DropItemLike[]): Promise<Awaited<ReturnType<typeof readDrop>>> {
  const live = { open: true };
  const pending = readDrop(make(live));
  live.open = false;
  return pending;
}

async function rejection(p: Promise<unknown>): Promise<AppError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  if (!(e instanceof AppError)) throw new Error(`expected an AppError, got ${String(e)}`);
  return e;
}

async function fixtureFiles(): Promise<File[]> {
  const dir = modelDir('tiny-llama');
  const names = await readdir(dir);
  return Promise.all(names.map(async (n) => new File([new Uint8Array(await readFile(join(dir, n)))], n, { lastModified: 1000 })));
}

beforeAll(async () => {
  await useNodeBackend('cpu');
});

describe('a dropped model folder', () => {
  it('gives the top-level files of the folder (all batches), skipping sub-folders and hidden files, and loads', async () => {
    const files = await fixtureFiles();
    const hidden = new File(['x'], '.DS_Store');
    const sub = dirEntry('original', [fileEntry(new File(['{}'], 'params.json'))]);
    const folder = dirEntry('tiny-llama', [...files.map((f) => fileEntry(f)), sub, fileEntry(hidden)]);
    const got = await drop((live) => [item(folder, null, live)]);
    expect(got.name).toBe('tiny-llama');
    expect(got.files.map((f) => f.name).sort()).toEqual(files.map((f) => f.name).sort());

    const model = await loadModel(filesSource(got.files));
    const ids = tf.tensor2d(reference('tiny-llama').input_ids, undefined, 'int32') as tf.Tensor2D;
    const out = forward(model, ids);
    expect(maxAbsDiff((await out.array()) as number[][][], reference('tiny-llama').logits_base)).toBeLessThan(1e-3);
    tf.dispose([ids, out]);
    model.dispose();
  });

  it('takes loose files as they are, from entries or (without entries) from getAsFile', async () => {
    const files = await fixtureFiles();
    const viaEntries = await drop((live) => files.map((f) => item(fileEntry(f), f, live)));
    expect(viaEntries.name).toBe('dropped files');
    expect(viaEntries.files).toEqual(files);
    const viaFiles = await drop((live) => files.map((f) => item(null, f, live)));
    expect(viaFiles.files).toEqual(files);
    // Strings dragged along (kind "string") are ignored.
    const withText = await drop((live) => [{ kind: 'string', webkitGetAsEntry: () => null, getAsFile: () => null }, item(null, files[0], live)]);
    expect(withText.files).toEqual([files[0]]);
  });

  it('refuses what it cannot use with a message that says what to drop', async () => {
    const f = new File(['{}'], 'config.json');
    const cases: Array<[string, (live: { open: boolean }) => DropItemLike[], RegExp]> = [
      ['nothing', () => [], /Nothing usable was dropped/],
      ['only text', () => [{ kind: 'string', webkitGetAsEntry: () => null, getAsFile: () => null }], /Nothing usable was dropped/],
      ['two folders', (live) => [item(dirEntry('a', []), null, live), item(dirEntry('b', []), null, live)], /one model folder at a time/],
      ['a folder with loose files', (live) => [item(dirEntry('a', []), null, live), item(fileEntry(f), f, live)], /one model folder at a time/],
      ['a folder with only sub-folders', (live) => [item(dirEntry('outer', [dirEntry('inner', [fileEntry(f)])]), null, live)], /"outer" has no files at its top level/],
      ['a file that cannot be read', (live) => [item(dirEntry('m', [fileEntry(f, new Error('NotReadableError'))]), null, live)], /Could not read the dropped "config\.json" \(NotReadableError\)/],
    ];
    for (const [what, make, says] of cases) {
      const e = await rejection(drop(make));
      expect(e.code, what).toBe('bad-input');
      expect(e.message, what).toMatch(says);
    }
  });
});

/**
 * The checkpoint store's logic against an in-memory stand-in for OPFS (opfs-double.ts; the real OPFS is
 * tested in Chromium): a save counts only once read back, a failed save (quota, a bad read-back) leaves no
 * files behind and the previous checkpoint as it was, damaged checkpoints are not offered, strays are tidied.
 * Then the saver that queues the trainer's checkpoints and reports each save.
 */
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/core/errors.ts';
import { CheckpointSaver, type CheckpointReport } from '../../src/ui/training/checkpoint-saver.ts';
import { MemoryCheckpointStore, OpfsCheckpointStore, parseLatest } from '../../src/ui/training/checkpoint-store.ts';
import { OpfsDouble } from './opfs-double.ts';

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);
const files = (step: number) => ({ 'adapter_model.safetensors': bytes(300, step), 'optimizer.safetensors': bytes(600, step), 'trainer_state.json': new TextEncoder().encode(`{"step":${step}}`) });

function setup() {
  const fs = new OpfsDouble();
  return { fs, store: new OpfsCheckpointStore(async () => fs.root) };
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    return (e as AppError).code;
  }
  throw new Error('expected a failure');
}

describe('OPFS checkpoint store', () => {
  it('saves, reads back and loads a checkpoint; a newer one replaces the older folder', async () => {
    const { fs, store } = setup();
    expect(await store.latest('r1')).toBeNull();
    expect(await store.save('r1', 3, files(3), 10)).toMatchObject({ step: 3, totalSteps: 10, bytes: 910 });
    expect(await store.save('r1', 6, files(6), 10)).toMatchObject({ step: 6 });
    expect(fs.files().map((f) => f.replace(/ \d+$/, ''))).toEqual([
      'checkpoints/r1/6/adapter_model.safetensors',
      'checkpoints/r1/6/optimizer.safetensors',
      'checkpoints/r1/6/trainer_state.json',
      'checkpoints/r1/latest.json',
    ]);
    const loaded = await store.load('r1');
    expect(loaded).toMatchObject({ step: 6, totalSteps: 10, bytes: 910 });
    expect(loaded!.files).toEqual(files(6));
    expect(await store.list()).toEqual([{ trainingRunId: 'r1', latest: expect.objectContaining({ step: 6, totalSteps: 10 }), bytes: fs.usage() }]);
    await store.remove('r1');
    expect(fs.files()).toEqual([]);
    expect(await store.load('r1')).toBeNull();
  });

  it('a full quota: the save fails as quota-exceeded, its files are removed (no 0-byte files), the previous checkpoint stays', async () => {
    const { fs, store } = setup();
    await store.save('r1', 3, files(3), 10);
    const before = fs.files();
    fs.faults.quota = fs.usage() + 400; // the adapter file fits, the optimizer state does not
    expect(await code(store.save('r1', 6, files(6), 10))).toBe('quota-exceeded');
    expect(fs.files()).toEqual(before);
    expect(fs.files().some((f) => f.endsWith(' 0'))).toBe(false);
    expect((await store.load('r1'))!.files).toEqual(files(3));
    // A first save that fails leaves nothing: no checkpoint to offer.
    expect(await code(store.save('r2', 1, files(1)))).toBe('quota-exceeded');
    expect(await store.latest('r2')).toBeNull();
    expect(fs.files().filter((f) => f.includes('/r2/'))).toEqual([]);
  });

  it('latest.json that cannot be written: the new folder goes, latest.json still names the previous checkpoint', async () => {
    const { fs, store } = setup();
    await store.save('r1', 3, files(3), 10);
    fs.faults.quotaOn = (p) => p === 'checkpoints/r1/latest.json';
    const error = await store.save('r1', 6, files(6), 10).catch((e: AppError) => e);
    expect(error).toMatchObject({ code: 'quota-exceeded', message: expect.stringContaining('checkpoint at step 6 could not be saved') });
    expect(fs.files().filter((f) => f.includes('/6/'))).toEqual([]);
    expect(await store.latest('r1')).toMatchObject({ step: 3 });
  });

  it('bytes that read back different: the save fails and is cleaned up', async () => {
    const { fs, store } = setup();
    await store.save('r1', 3, files(3));
    fs.faults.corruptOn = (p) => p.endsWith('/6/optimizer.safetensors');
    expect(await code(store.save('r1', 6, files(6)))).toBe('internal');
    expect(await store.latest('r1')).toMatchObject({ step: 3 });
    expect(fs.files().filter((f) => f.includes('/6/'))).toEqual([]);
  });

  it('a damaged checkpoint is not offered; tidy removes what a failed save or an old folder left', async () => {
    const { fs, store } = setup();
    await store.save('r1', 3, files(3));
    await fs.overwrite('checkpoints/r1/3/optimizer.safetensors', new Uint8Array(0));
    expect(await store.latest('r1')).toBeNull();
    expect(await store.load('r1')).toBeNull();
    const left = fs.usage();
    expect(await store.tidy('r1')).toBe(left);
    expect(fs.files()).toEqual([]);

    // A stray step folder next to a good checkpoint (a crash during a save) is tidied; the checkpoint stays.
    await store.save('r2', 4, files(4));
    const stray = await (await (await fs.root.getDirectoryHandle('checkpoints')).getDirectoryHandle('r2')).getDirectoryHandle('5', { create: true });
    await stray.getFileHandle('adapter_model.safetensors', { create: true });
    expect(await store.tidy('r2')).toBe(0);
    expect(fs.files().filter((f) => f.includes('/5/'))).toEqual([]);
    expect(await store.latest('r2')).toMatchObject({ step: 4 });
  });

  it('reads latest.json as earlier versions wrote it (a list of names) and refuses what is not one', async () => {
    expect(parseLatest('{"step":5,"files":["a.safetensors"]}')).toEqual({ step: 5, totalSteps: null, files: [{ name: 'a.safetensors', bytes: null }], savedAt: null });
    for (const bad of ['', 'null', '{"step":-1,"files":["a"]}', '{"step":1,"files":[]}', '{"step":1,"files":["../x"]}', '{"step":1,"files":["latest.json"]}', '{"step":1.5,"files":["a"]}']) {
      expect(parseLatest(bad)).toBeNull();
    }
  });

  it('refuses unusable names before writing anything', async () => {
    const { fs, store } = setup();
    expect(await code(store.save('../x', 1, files(1)))).toBe('internal');
    expect(await code(store.save('r1', 1, { 'a/b': bytes(1, 1) }))).toBe('internal');
    expect(fs.files()).toEqual([]);
  });
});

describe('checkpoint saver', () => {
  it('saves in order after the curve is written, reports each save, and keeps the last good step on a failure', async () => {
    const { fs, store } = setup();
    const reports: CheckpointReport[] = [];
    const events: string[] = [];
    const saver = new CheckpointSaver(store, 'r1', {
      totalSteps: () => 9,
      beforeSave: async () => void events.push('curve'),
      onReport: (r) => {
        reports.push(r);
        events.push(`${r.kind} ${r.step}`);
      },
    });
    saver.offer(3, files(3));
    saver.offer(6, files(6));
    await saver.drain();
    expect(events).toEqual(['curve', 'saved 3', 'curve', 'saved 6']);
    expect(saver.lastGood).toBe(6);
    fs.faults.quota = fs.usage();
    saver.offer(9, files(9));
    await saver.drain();
    expect(reports.at(-1)).toMatchObject({ kind: 'failed', step: 9, lastGood: 6, error: { code: 'quota-exceeded' } });
    expect(saver.failures).toBe(1);
    fs.faults = { quota: Infinity, quotaOn: () => false, corruptOn: (p) => p.endsWith('/12/optimizer.safetensors') };
    saver.offer(12, files(12));
    await saver.drain();
    // Said once, by the store: which checkpoint, and why.
    expect(reports.at(-1)).toMatchObject({ kind: 'failed', step: 12, lastGood: 6, error: { code: 'internal', message: 'The checkpoint at step 12 could not be saved: optimizer.safetensors read back different from what was written.' } });
    expect(await store.latest('r1')).toMatchObject({ step: 6, totalSteps: 9 });
  });

  it('a failed curve write fails the save (a resume would miss points); a resumed run starts from its checkpoint', async () => {
    const store = new MemoryCheckpointStore();
    const reports: CheckpointReport[] = [];
    const saver = new CheckpointSaver(store, 'r1', { lastGood: 4, beforeSave: async () => Promise.reject(new Error('disk gone')), onReport: (r) => reports.push(r) });
    expect(saver.lastGood).toBe(4);
    saver.offer(5, files(5));
    await saver.drain();
    expect(reports).toEqual([{ kind: 'failed', step: 5, lastGood: 4, error: expect.objectContaining({ code: 'internal', message: 'The checkpoint at step 5 could not be saved: disk gone' }) }]);
    expect(await store.latest('r1')).toBeNull();
  });
});

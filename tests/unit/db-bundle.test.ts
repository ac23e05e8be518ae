/**
 * Experiment bundles: the round trip, and malformed or hostile files that must be refused with a clear
 * message while the database stays exactly as it was.
 */
import { describe, expect, it } from 'vitest';
import { unzipSync, zipSync, type Zippable } from 'fflate';
import { exportBundle } from '../../src/db/bundle/export.ts';
import { importBundle } from '../../src/db/bundle/import.ts';
import { sha256Hex } from '../../src/core/io/sha256.ts';
import type { BundleLimits, Manifest } from '../../src/db/bundle/format.ts';
import { countExperimentRows, createExperiment, listExperiments } from '../../src/db/experiments.ts';
import { deleteAdapter, listAdapters } from '../../src/db/adapters.ts';
import { readSnapshot } from '../../src/db/snapshot.ts';
import { createRun } from '../../src/db/runs.ts';
import { AppError } from '../../src/core/errors.ts';
import type { StudioDb } from '../../src/db/db.ts';
import { dump, freshDb, seedExperiment } from './db-helpers.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

type Entries = Record<string, Uint8Array>;

function unzip(bytes: Uint8Array): Entries {
  return unzipSync(bytes);
}

/** Re-zips entries; with `fixManifest`, first rewrites the manifest's sizes and hashes to match them. */
async function rezip(entries: Entries, fixManifest = true): Promise<Uint8Array> {
  const out: Entries = { ...entries };
  if (fixManifest && out['manifest.json']) {
    const manifest = JSON.parse(dec.decode(out['manifest.json'])) as Manifest;
    manifest.files = await Promise.all(
      Object.keys(out)
        .filter((n) => n !== 'manifest.json')
        .map(async (name) => ({ name, bytes: out[name].length, sha256: await sha256Hex(out[name]) })),
    );
    out['manifest.json'] = enc.encode(JSON.stringify(manifest));
  }
  const z: Zippable = {};
  for (const [k, v] of Object.entries(out)) z[k] = v;
  return zipSync(z);
}

/** Zips entries the way the exporter does (adapter files stored, not deflated). */
function writeZipForTest(entries: Entries): Uint8Array {
  const z: Zippable = {};
  for (const [k, v] of Object.entries(entries)) z[k] = [v, { level: k.startsWith('adapters/') ? 0 : 6 }];
  return zipSync(z);
}

function findBytes(hay: Uint8Array, needle: Uint8Array): number {
  for (let i = 0; i + needle.length <= hay.length; i++) if (needle.every((x, j) => hay[i + j] === x)) return i;
  throw new Error('not found');
}

function lines(e: Entries, name: string): Record<string, unknown>[] {
  return dec.decode(e[name]).split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

function setLines(e: Entries, name: string, rows: unknown[]): void {
  e[name] = enc.encode(rows.map((r) => JSON.stringify(r) + '\n').join(''));
}

function editJsonl(e: Entries, name: string, index: number, edit: (row: Record<string, unknown>) => void): void {
  const rows = lines(e, name);
  edit(rows[index]);
  setLines(e, name, rows);
}

function editJson(e: Entries, name: string, edit: (o: Record<string, unknown>) => void): void {
  const o = JSON.parse(dec.decode(e[name]));
  edit(o);
  e[name] = enc.encode(JSON.stringify(o));
}

/** Replaces every byte sequence `from` by `to` (same length) in a zip: renames an entry in both headers. */
function renameInZip(bytes: Uint8Array, from: string, to: string): Uint8Array {
  const a = enc.encode(from);
  const b = enc.encode(to);
  expect(a.length).toBe(b.length);
  const out = bytes.slice();
  for (let i = 0; i + a.length <= out.length; i++) {
    if (a.every((x, j) => out[i + j] === x)) out.set(b, i);
  }
  return out;
}

/** Overwrites the uncompressed size the central directory (and with `local`, the local header too) declares for `name`. */
function patchDeclaredSize(bytes: Uint8Array, name: string, size: number, local = false): Uint8Array {
  const out = bytes.slice();
  const dv = new DataView(out.buffer);
  const target = enc.encode(name);
  let found = false;
  for (let i = 0; i + 46 <= out.length; i++) {
    const sig = dv.getUint32(i, true);
    const [nameAt, sizeAt] = sig === 0x02014b50 ? [28, 24] : sig === 0x04034b50 && local ? [26, 22] : [-1, -1];
    if (nameAt < 0) continue;
    const nameLen = dv.getUint16(i + nameAt, true);
    const start = i + (sig === 0x02014b50 ? 46 : 30);
    const n = out.subarray(start, start + nameLen);
    if (nameLen === target.length && n.every((x, j) => x === target[j])) {
      dv.setUint32(i + sizeAt, size, true);
      found = true;
    }
  }
  if (!found) throw new Error(`no entry for ${name}`);
  return out;
}

async function setup(): Promise<{ db: StudioDb; bundle: Uint8Array; entries: Entries }> {
  const db = await freshDb();
  const exp = await seedExperiment(db, 'Bundle source');
  await createExperiment(db, { name: 'Bystander' });
  const { bytes } = await exportBundle(db, exp.id, 123);
  return { db, bundle: bytes, entries: unzip(bytes) };
}

/** Strips what may differ between two exports of the same content: ids become their order of appearance. */
function canonical(bytes: Uint8Array): Record<string, unknown> {
  const entries = unzip(bytes);
  const labels = new Map<string, string>();
  const relabel = (text: string) =>
    text.replace(UUID, (id) => {
      if (!labels.has(id)) labels.set(id, `#${labels.size}`);
      return labels.get(id)!;
    });
  const out: Record<string, unknown> = {};
  // Label ids in a fixed entry order so both bundles assign the same labels.
  for (const name of ['experiment.json', 'tasks.jsonl', 'runs.jsonl', 'steps.jsonl', 'samples.jsonl', 'training-runs.jsonl', 'adapters.jsonl']) {
    const text = relabel(dec.decode(entries[name]));
    out[name] = name.endsWith('.jsonl') ? text.split('\n').filter(Boolean).map((l) => JSON.parse(l)) : JSON.parse(text);
  }
  const manifest = JSON.parse(dec.decode(entries['manifest.json'])) as Manifest;
  out['manifest.json'] = {
    ...manifest,
    exportedAt: 'export time',
    // Sizes and hashes cover experiment.json's updatedAt and the ids; the contents are compared above.
    files: manifest.files.map((f) => f.name),
  };
  (out['experiment.json'] as { updatedAt: unknown }).updatedAt = 'import time';
  for (const name of Object.keys(entries)) if (name.startsWith('adapters/')) out[name] = Array.from(entries[name]);
  return out;
}

describe('bundle round trip', () => {
  it('export → import → export gives the same content (ids aside, and the import time)', async () => {
    const { db, bundle } = await setup();
    const { experiment, counts } = await importBundle(db, bundle, { now: 999 });
    // "Same content": every entry equal after each id is replaced by its order of first appearance; only the
    // manifest's exportedAt and the experiment's updatedAt (the import time) may differ.
    expect(counts).toEqual({ tasks: 3, runs: 2, steps: 3, samples: 2, trainingRuns: 1, adapters: 1 });
    expect(experiment.name).toBe('Bundle source');
    expect(experiment.updatedAt).toBe(999);
    expect(await countExperimentRows(db, experiment.id)).toEqual(counts);
    const again = await exportBundle(db, experiment.id, 456);
    const a = canonical(bundle);
    const b = canonical(again.bytes);
    expect(b).toEqual(a);
    // The comparison is not vacuous: it sees texts, numbers, blobs and the id structure.
    expect(JSON.stringify(a)).toContain('Score: 9/10. <script>alert(1)</script>');
    expect((a['steps.jsonl'] as { runId: string }[])[0].runId).toMatch(/^#\d+$/);
    expect(a['adapters/0.safetensors']).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    // A step cut off by the token limit keeps its finish reason; steps stored before it existed have none.
    expect((a['steps.jsonl'] as { finishReason?: string }[]).map((s) => s.finishReason)).toEqual([undefined, undefined, 'length']);
    // And the imported rows really carry fresh ids.
    const original = (await listExperiments(db)).find((e) => e.name === 'Bundle source' && e.id !== experiment.id)!;
    const s1 = await readSnapshot(db, original.id);
    const s2 = await readSnapshot(db, experiment.id);
    expect(s2.steps.map((s) => s.id).filter((id) => s1.steps.some((t) => t.id === id))).toEqual([]);
    expect(s2.steps[2].adapterId).toBe(s2.adapters[0].id);
  });

  it('writes only importable bundles: references to deleted rows are cleared on export', async () => {
    const db = await freshDb();
    const exp = await seedExperiment(db);
    const [adapter] = await listAdapters(db, exp.id);
    await deleteAdapter(db, adapter.id); // a step still names it
    const { bytes, fileName } = await exportBundle(db, exp.id);
    expect(fileName).toBe('Arithmetic_ round 1.srs.zip');
    const { experiment } = await importBundle(db, bytes);
    const s = await readSnapshot(db, experiment.id);
    expect(s.steps.map((x) => x.adapterId)).toEqual([null, null, null]);
    expect(s.adapters).toEqual([]);
  });

  it('reads a bundle of schema v2 whose experiment names the retired engine kind "scripted" as tfjs, like the upgrade', async () => {
    const { db, entries } = await setup();
    editJson(entries, 'experiment.json', (o) => (o.engine = 'scripted'));
    const { experiment } = await importBundle(db, await rezip(entries));
    expect(experiment.engine).toBe('tfjs');
    editJson(entries, 'experiment.json', (o) => (o.engine = 'llama.cpp'));
    await expect(importBundle(db, await rezip(entries))).rejects.toMatchObject({ code: 'bundle-invalid' });
  });

  it('imports a run that was running when exported as interrupted', async () => {
    const db = await freshDb();
    const exp = await createExperiment(db, { name: '<img src=x onerror=alert(1)>' });
    await createRun(db, { experimentId: exp.id, kind: 'self' });
    const { bytes } = await exportBundle(db, exp.id);
    const { experiment } = await importBundle(db, bytes);
    expect(experiment.name).toBe('<img src=x onerror=alert(1)>');
    const s = await readSnapshot(db, experiment.id);
    expect(s.runs[0].status).toBe('interrupted');
  });
});

interface BadCase {
  name: string;
  make: (ctx: { bundle: Uint8Array; entries: Entries }) => Promise<Uint8Array> | Uint8Array;
  /** A fragment of the message that names what is wrong. */
  says: string | RegExp;
  limits?: Partial<BundleLimits>;
}

const BAD: BadCase[] = [
  { name: 'an empty file', make: () => new Uint8Array(0), says: 'not a zip file' },
  { name: 'a JSON file instead of a zip', make: () => enc.encode('{"experiment": {}}'), says: 'not a zip file' },
  { name: 'a truncated download', make: ({ bundle }) => bundle.subarray(0, Math.floor(bundle.length * 0.6)), says: 'damaged or truncated' },
  {
    name: 'a zip without a manifest',
    make: ({ entries }) => {
      const { ['manifest.json']: _, ...rest } = entries;
      return rezip(rest, false);
    },
    says: 'no manifest.json',
  },
  {
    name: 'another program\'s zip',
    make: ({ entries }) => rezip({ ...entries, 'manifest.json': enc.encode('{"format":"some-other-tool","version":1}') }, false),
    says: 'not a Self-Refine Studio experiment',
  },
  {
    name: 'a newer format version',
    make: ({ entries }) => {
      const e = { ...entries };
      editJson(e, 'manifest.json', (m) => (m.version = 2));
      return rezip(e, false);
    },
    says: 'newer version of Self-Refine Studio',
  },
  {
    name: 'an entry altered after export (hash mismatch)',
    make: ({ entries }) => {
      const e = { ...entries };
      editJsonl(e, 'steps.jsonl', 0, (r) => (r.text = (r.text as string).replace('42', '41'))); // same size
      return rezip(e, false);
    },
    says: 'steps.jsonl does not match its SHA-256',
  },
  {
    name: 'a path-traversal entry name',
    make: ({ entries }) => rezip({ ...entries, '../../evil.sh': enc.encode('rm -rf /') }),
    says: 'unexpected entry "../../evil.sh"',
  },
  {
    name: 'an absolute entry name',
    make: ({ entries }) => rezip({ ...entries, '/etc/passwd': enc.encode('x') }),
    says: 'unexpected entry "/etc/passwd"',
  },
  {
    name: 'the same entry twice',
    make: ({ bundle }) => renameInZip(bundle, 'tasks.jsonl', 'steps.jsonl'),
    says: 'steps.jsonl appears twice',
  },
  {
    name: 'a zip bomb (2 MiB of zeros in a few KiB) against a 1 MiB limit',
    make: ({ entries }) => rezip({ ...entries, 'adapters/7.gguf': new Uint8Array(2 * 2 ** 20) }),
    says: 'adapters/7.gguf unpacks to 2 MiB',
    limits: { blobEntryBytes: 2 ** 20 },
  },
  {
    name: 'a header that claims 4 GiB',
    make: ({ bundle }) => patchDeclaredSize(bundle, 'steps.jsonl', 0xffffffff),
    says: /steps\.jsonl unpacks to 4096 MiB; at most 256 MiB/,
  },
  {
    name: 'a directory that under-declares a size its local header does not',
    make: ({ bundle }) => patchDeclaredSize(bundle, 'steps.jsonl', 100),
    says: /the entry steps\.jsonl declares 100 unpacked bytes in the zip's directory but \d+ in its local header/,
  },
  {
    name: 'headers that both under-declare a size (inflating more than declared)',
    make: ({ bundle }) => patchDeclaredSize(bundle, 'steps.jsonl', 100, true),
    says: 'the entry steps.jsonl unpacks to more than the 100 bytes its header declares',
  },
  {
    name: 'an entry damaged after export (its CRC-32 does not match)',
    make: ({ entries }) => {
      const zipped = writeZipForTest(entries);
      const at = findBytes(zipped, entries['adapters/0.safetensors']);
      zipped[at + 3] ^= 0xff; // adapter weights are stored, so their bytes are in the zip as they are
      return zipped;
    },
    says: 'the entry adapters/0.safetensors is damaged (its CRC-32 checksum does not match)',
  },
  {
    name: 'a __proto__ key in free-form settings',
    make: ({ entries }) => {
      const e = { ...entries };
      const text = dec.decode(e['experiment.json']).replace('"settings": {', '"settings": {"__proto__": {"polluted": true},');
      e['experiment.json'] = enc.encode(text);
      return rezip(e);
    },
    says: 'experiment.json, field "settings.__proto__" the key "__proto__" is not allowed',
  },
  {
    name: 'a constructor key on a row',
    make: ({ entries }) => {
      const e = { ...entries };
      editJsonl(e, 'runs.jsonl', 1, (r) => Object.assign(r, JSON.parse('{"constructor": {"prototype": {"polluted": true}}}')));
      return rezip(e);
    },
    says: 'runs.jsonl, line 2, field "constructor"',
  },
  {
    name: 'duplicate step ids',
    make: ({ entries }) => {
      const e = { ...entries };
      const rows = lines(e, 'steps.jsonl');
      rows[2].id = rows[0].id;
      rows[1].id = String(rows[0].id).replace(/^./, (c) => (c === 'f' ? '0' : 'f'));
      setLines(e, 'steps.jsonl', rows);
      // Keep the samples pointing at existing steps so the duplicate is the first problem found.
      editJsonl(e, 'samples.jsonl', 0, (r) => ((r.provenance as { stepIds: string[] }).stepIds = [rows[0].id as string]));
      return rezip(e);
    },
    says: /steps\.jsonl, line 3, field "id": the id .* is used twice/,
  },
  {
    name: 'a step pointing at a run that is not in the bundle',
    make: ({ entries }) => {
      const e = { ...entries };
      editJsonl(e, 'steps.jsonl', 1, (r) => (r.runId = '00000000-0000-7000-8000-000000000000'));
      return rezip(e);
    },
    says: 'steps.jsonl, line 2, field "runId": 00000000-0000-7000-8000-000000000000 is not the id of a run in this bundle',
  },
  {
    name: 'a row of another experiment',
    make: ({ entries }) => {
      const e = { ...entries };
      editJsonl(e, 'tasks.jsonl', 0, (r) => (r.experimentId = '00000000-0000-7000-8000-000000000001'));
      return rezip(e);
    },
    says: 'tasks.jsonl, line 1, field "experimentId"',
  },
  {
    name: 'counts that do not match the manifest (a row removed)',
    make: ({ entries }) => {
      const e = { ...entries };
      setLines(e, 'samples.jsonl', lines(e, 'samples.jsonl').slice(0, 1));
      return rezip(e);
    },
    says: 'manifest.json says there are 2 samples but the bundle has 1',
  },
  {
    name: 'a step whose finish reason is not one the engines give',
    make: ({ entries }) => {
      const e = { ...entries };
      editJsonl(e, 'steps.jsonl', 2, (r) => (r.finishReason = 'tired'));
      return rezip(e);
    },
    says: 'steps.jsonl, line 3, field "finishReason" expected one of stop, length',
  },
  {
    name: 'a number written as text',
    make: ({ entries }) => {
      const e = { ...entries };
      editJsonl(e, 'steps.jsonl', 0, (r) => (r.promptTokens = '12'));
      return rezip(e);
    },
    says: 'steps.jsonl, line 1, field "promptTokens" expected a number, found the text "12"',
  },
  {
    name: 'a chat message with an unknown role',
    make: ({ entries }) => {
      const e = { ...entries };
      editJsonl(e, 'steps.jsonl', 0, (r) => ((r.prompt as { role: string }[])[1].role = 'developer'));
      return rezip(e);
    },
    says: 'steps.jsonl, line 1, field "prompt[1].role" expected one of system, user, assistant',
  },
  {
    name: 'an over-long experiment name',
    make: ({ entries }) => {
      const e = { ...entries };
      editJson(e, 'experiment.json', (o) => (o.name = 'x'.repeat(10_000)));
      return rezip(e);
    },
    says: 'experiment.json, field "name" is 10000 characters long; at most 200',
  },
  {
    name: 'a broken JSON line',
    make: ({ entries }) => {
      const e = { ...entries };
      e['tasks.jsonl'] = enc.encode(dec.decode(e['tasks.jsonl']).replace(/\}\n$/, '\n'));
      return rezip(e);
    },
    says: 'tasks.jsonl, line 3 is not valid JSON',
  },
  {
    name: 'an unknown field on a row',
    make: ({ entries }) => {
      const e = { ...entries };
      editJsonl(e, 'runs.jsonl', 0, (r) => (r.shellCommand = 'curl evil'));
      return rezip(e);
    },
    says: 'runs.jsonl, line 1, field "shellCommand" is not a known field',
  },
  {
    name: 'an adapter file nobody refers to',
    make: ({ entries }) => rezip({ ...entries, 'adapters/3.safetensors': new Uint8Array([1]) }),
    says: 'adapters/3.safetensors belongs to no adapter',
  },
  {
    name: 'an entry missing from the manifest',
    make: ({ entries }) => rezip({ ...entries, 'adapters/1.gguf': new Uint8Array([1]) }, false),
    says: 'adapters/1.gguf is not listed in manifest.json',
  },
  {
    name: 'text that is not UTF-8',
    make: ({ entries }) => rezip({ ...entries, 'tasks.jsonl': new Uint8Array([0x7b, 0xff, 0xfe, 0x7d, 0x0a]) }),
    says: 'tasks.jsonl is not UTF-8 text',
  },
];

describe('bundle validation', () => {
  it(`has at least 10 malformed or hostile cases (${BAD.length})`, () => {
    expect(BAD.length).toBeGreaterThanOrEqual(10);
  });

  for (const bad of BAD) {
    it(`refuses ${bad.name}, naming the problem, and writes nothing`, async () => {
      const ctx = await setup();
      const before = await dump(ctx.db);
      const file = await bad.make(ctx);
      const error = await importBundle(ctx.db, file, { limits: bad.limits }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).code).toBe('bundle-invalid');
      expect((error as AppError).message).toMatch(bad.says);
      expect((error as AppError).message).toContain('Nothing was imported');
      expect(await dump(ctx.db)).toEqual(before);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  }

  it('accepts the untouched bundle through the same helpers (the cases above fail for their own reason)', async () => {
    const ctx = await setup();
    const rebuilt = await rezip({ ...ctx.entries });
    await expect(importBundle(ctx.db, rebuilt)).resolves.toMatchObject({ counts: { steps: 3 } });
  });
});

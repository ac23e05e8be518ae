/**
 * Bundle → new experiment. `parseBundle` checks everything before anything is written:
 *   the zip (size, entry names, duplicates, compression, declared sizes against zip bombs — zip.ts),
 *   the manifest (format name, version, counts, one SHA-256 per entry: truncation and tampering),
 *   every row of every entry (types, lengths, allowed values, no prototype keys — row-checks.ts),
 *   ids (well formed, unique) and every reference between rows, and the adapter files they name.
 * `importBundle` then writes it under fresh ids in ONE transaction (snapshot.ts), so a bad file, or a full
 * disk half-way through, leaves the database exactly as it was.
 */
import { decodeUtf8, splitLines, TextEncodingError } from '../../core/io/text-decode.ts';
import type { StudioDb } from '../db.ts';
import { withoutRetiredEngine } from '../schema.ts';
import { writeSnapshotAsNew, type ExperimentSnapshot } from '../snapshot.ts';
import type { Adapter, Experiment, ExperimentCounts } from '../types.ts';
import { exactly, FieldError, num, object, arrayOf, str, type Check } from './checks.ts';
import {
  BLOB_ENTRY,
  BUNDLE_FORMAT,
  BUNDLE_VERSION,
  DEFAULT_LIMITS,
  ENTRY,
  ggufEntryName,
  weightsEntryName,
  type BundleLimits,
  type Manifest,
} from './format.ts';
import { sha256Hex } from '../../core/io/sha256.ts';
import { rowChecks } from './row-checks.ts';
import { bundleInvalid, readZip } from './zip.ts';

function text(entries: Map<string, Uint8Array>, name: string): string {
  const data = entries.get(name);
  if (!data) throw bundleInvalid(`the entry ${name} is missing`);
  try {
    return decodeUtf8(data, name);
  } catch (e) {
    if (e instanceof TextEncodingError) throw bundleInvalid(`${name} is not UTF-8 text (line ${e.line} holds bytes that are not UTF-8)`);
    throw e;
  }
}

function parseJson(source: string, where: string): unknown {
  try {
    return JSON.parse(source);
  } catch (e) {
    throw bundleInvalid(`${where} is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
}

function checked<T>(check: Check<T>, value: unknown, where: string): T {
  try {
    return check(value, '');
  } catch (e) {
    if (e instanceof FieldError) {
      throw bundleInvalid(e.field ? `${where}, field "${e.field}" ${e.message}` : `${where} ${e.message}`);
    }
    throw e;
  }
}

function parseJsonl<T>(entries: Map<string, Uint8Array>, name: string, check: Check<T>, limits: BundleLimits): T[] {
  const lines = splitLines(text(entries, name));
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length > limits.rows) throw bundleInvalid(`${name} has ${lines.length} rows; at most ${limits.rows} are allowed`);
  return lines.map((line, i) => {
    const where = `${name}, line ${i + 1}`;
    if (!line.trim()) throw bundleInvalid(`${where} is empty`);
    return checked(check, parseJson(line, where), where);
  });
}

const hex64 = str({ min: 64, max: 64, pattern: /^[0-9a-f]{64}$/, hint: 'a SHA-256 in hex' });
const countCheck = num({ min: 0, integer: true });

function checkManifest(raw: unknown, limits: BundleLimits): Manifest {
  const where = ENTRY.manifest;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bundleInvalid(`${where} is not a JSON object`);
  const o = raw as Record<string, unknown>;
  if (o.format !== BUNDLE_FORMAT) {
    throw bundleInvalid(`${where} says its format is ${JSON.stringify(o.format)}, not a Self-Refine Studio experiment`);
  }
  if (typeof o.version === 'number' && o.version > BUNDLE_VERSION) {
    throw bundleInvalid(
      `it was made by a newer version of Self-Refine Studio (bundle format ${o.version}; this app reads format ${BUNDLE_VERSION}). ` +
        'Update the app (reload the page) and import it again',
    );
  }
  const manifest: Check<Manifest> = object({
    format: exactly(BUNDLE_FORMAT),
    version: exactly(BUNDLE_VERSION),
    schemaVersion: num({ min: 1, integer: true }),
    exportedAt: num({ min: 0, integer: true }),
    counts: object({
      tasks: countCheck,
      runs: countCheck,
      steps: countCheck,
      samples: countCheck,
      trainingRuns: countCheck,
      adapters: countCheck,
    }),
    files: arrayOf(object({ name: str({ min: 1, max: 64 }), bytes: num({ min: 0, integer: true }), sha256: hex64 }), limits.entries),
  });
  return checked(manifest, raw, where);
}

/** Every entry except the manifest is listed in it, with the right size and hash; nothing else is present. */
async function checkFiles(manifest: Manifest, entries: Map<string, Uint8Array>): Promise<void> {
  const listed = new Set<string>();
  for (const f of manifest.files) {
    if (f.name === ENTRY.manifest || listed.has(f.name)) throw bundleInvalid(`${ENTRY.manifest} lists ${f.name} twice`);
    listed.add(f.name);
    const data = entries.get(f.name);
    if (!data) throw bundleInvalid(`the entry ${f.name} listed in ${ENTRY.manifest} is missing (is the file truncated?)`);
    if (data.length !== f.bytes) {
      throw bundleInvalid(`the entry ${f.name} has ${data.length} bytes but ${ENTRY.manifest} says ${f.bytes} (is the file truncated?)`);
    }
    if ((await sha256Hex(data)) !== f.sha256) {
      throw bundleInvalid(`the entry ${f.name} does not match its SHA-256 in ${ENTRY.manifest} (the file was altered or damaged)`);
    }
  }
  for (const name of entries.keys()) {
    if (name !== ENTRY.manifest && !listed.has(name)) throw bundleInvalid(`the entry ${name} is not listed in ${ENTRY.manifest}`);
  }
  for (const name of Object.values(ENTRY)) {
    if (!entries.has(name)) throw bundleInvalid(`the entry ${name} is missing`);
  }
}

function uniqueIds(rows: { id: string }[], entry: string): Set<string> {
  const ids = new Set<string>();
  rows.forEach((r, i) => {
    if (ids.has(r.id)) throw bundleInvalid(`${entry}, line ${i + 1}, field "id": the id ${r.id} is used twice`);
    ids.add(r.id);
  });
  return ids;
}

function refError(entry: string, line: number, field: string, what: string, id: string) {
  return bundleInvalid(`${entry}, line ${line}, field "${field}": ${id} is not the id of ${what} in this bundle`);
}

/** Checks a bundle completely and returns it as a snapshot (Blobs for adapter files). Writes nothing. */
export async function parseBundle(bytes: Uint8Array, limits: BundleLimits = DEFAULT_LIMITS): Promise<ExperimentSnapshot> {
  const entries = readZip(bytes, limits);
  if (!entries.has(ENTRY.manifest)) throw bundleInvalid(`it has no ${ENTRY.manifest} (is it an experiment bundle?)`);
  const manifest = checkManifest(parseJson(text(entries, ENTRY.manifest), ENTRY.manifest), limits);
  await checkFiles(manifest, entries);

  const check = rowChecks(limits);
  const experiment: Experiment = checked(check.experiment, withoutRetiredEngine(parseJson(text(entries, ENTRY.experiment), ENTRY.experiment)), ENTRY.experiment);
  const tasks = parseJsonl(entries, ENTRY.tasks, check.task, limits);
  const runs = parseJsonl(entries, ENTRY.runs, check.run, limits);
  const steps = parseJsonl(entries, ENTRY.steps, check.step, limits);
  const samples = parseJsonl(entries, ENTRY.samples, check.sample, limits);
  const trainingRuns = parseJsonl(entries, ENTRY.trainingRuns, check.trainingRun, limits);
  const adapters = parseJsonl(entries, ENTRY.adapters, check.adapter, limits);

  const counts: ExperimentCounts = {
    tasks: tasks.length,
    runs: runs.length,
    steps: steps.length,
    samples: samples.length,
    trainingRuns: trainingRuns.length,
    adapters: adapters.length,
  };
  for (const key of Object.keys(counts) as (keyof ExperimentCounts)[]) {
    if (counts[key] !== manifest.counts[key]) {
      throw bundleInvalid(`${ENTRY.manifest} says there are ${manifest.counts[key]} ${key} but the bundle has ${counts[key]}`);
    }
  }

  // Ids and references.
  const taskIds = uniqueIds(tasks, ENTRY.tasks);
  const runIds = uniqueIds(runs, ENTRY.runs);
  const stepIds = uniqueIds(steps, ENTRY.steps);
  uniqueIds(samples, ENTRY.samples);
  const trainingRunIds = uniqueIds(trainingRuns, ENTRY.trainingRuns);
  const adapterIds = uniqueIds(adapters, ENTRY.adapters);
  const owned: [string, { experimentId: string }[]][] = [
    [ENTRY.tasks, tasks], [ENTRY.runs, runs], [ENTRY.steps, steps], [ENTRY.samples, samples],
    [ENTRY.trainingRuns, trainingRuns], [ENTRY.adapters, adapters],
  ];
  for (const [entry, rows] of owned) {
    rows.forEach((r, i) => {
      if (r.experimentId !== experiment.id) throw refError(entry, i + 1, 'experimentId', 'the experiment', r.experimentId);
    });
  }
  steps.forEach((s, i) => {
    if (!runIds.has(s.runId)) throw refError(ENTRY.steps, i + 1, 'runId', 'a run', s.runId);
    if (!taskIds.has(s.taskId)) throw refError(ENTRY.steps, i + 1, 'taskId', 'a task', s.taskId);
    if (s.adapterId !== null && !adapterIds.has(s.adapterId)) throw refError(ENTRY.steps, i + 1, 'adapterId', 'an adapter', s.adapterId);
  });
  samples.forEach((s, i) => {
    s.provenance.stepIds.forEach((id, j) => {
      if (!stepIds.has(id)) throw refError(ENTRY.samples, i + 1, `provenance.stepIds[${j}]`, 'a step', id);
    });
    if (s.provenance.runId !== null && !runIds.has(s.provenance.runId)) {
      throw refError(ENTRY.samples, i + 1, 'provenance.runId', 'a run', s.provenance.runId);
    }
  });
  trainingRuns.forEach((r, i) => {
    if (r.adapterId !== null && !adapterIds.has(r.adapterId)) throw refError(ENTRY.trainingRuns, i + 1, 'adapterId', 'an adapter', r.adapterId);
    const seen = new Set<number>();
    r.metrics.forEach((p, j) => {
      if (seen.has(p.step)) throw bundleInvalid(`${ENTRY.trainingRuns}, line ${i + 1}, field "metrics[${j}].step": step ${p.step} is logged twice`);
      seen.add(p.step);
    });
  });

  // Adapter files: adapter n names adapters/n.safetensors (and adapters/n.gguf); every file belongs to one.
  const usedBlobs = new Set<string>();
  const withBlobs: Adapter[] = adapters.map((a, i) => {
    const where = `${ENTRY.adapters}, line ${i + 1}`;
    if (a.trainingRunId !== null && !trainingRunIds.has(a.trainingRunId)) {
      throw refError(ENTRY.adapters, i + 1, 'trainingRunId', 'a training run', a.trainingRunId);
    }
    if (a.weightsEntry !== weightsEntryName(i)) throw bundleInvalid(`${where}, field "weightsEntry" must be ${weightsEntryName(i)}`);
    if (a.ggufEntry !== null && a.ggufEntry !== ggufEntryName(i)) throw bundleInvalid(`${where}, field "ggufEntry" must be ${ggufEntryName(i)}`);
    const weights = entries.get(a.weightsEntry);
    if (!weights) throw bundleInvalid(`${where}: its weights file ${a.weightsEntry} is missing`);
    usedBlobs.add(a.weightsEntry);
    let gguf: Blob | null = null;
    if (a.ggufEntry !== null) {
      const data = entries.get(a.ggufEntry);
      if (!data) throw bundleInvalid(`${where}: its GGUF file ${a.ggufEntry} is missing`);
      usedBlobs.add(a.ggufEntry);
      gguf = new Blob([data as Uint8Array<ArrayBuffer>]);
    }
    const { weightsEntry: _w, ggufEntry: _g, ...row } = a;
    return { ...row, weights: new Blob([weights as Uint8Array<ArrayBuffer>]), gguf };
  });
  for (const name of entries.keys()) {
    if (BLOB_ENTRY.test(name) && !usedBlobs.has(name)) throw bundleInvalid(`the entry ${name} belongs to no adapter`);
  }

  return { experiment, tasks, runs, steps, samples, trainingRuns, adapters: withBlobs };
}

export interface ImportResult {
  experiment: Experiment;
  counts: ExperimentCounts;
}

/**
 * Imports a bundle as a new experiment (fresh ids; the name, settings and timestamps are kept, updatedAt
 * becomes now; runs that were 'running' when exported become 'interrupted'). Throws
 * AppError('bundle-invalid') naming the entry, row and field, or AppError('quota-exceeded'); either way the
 * database is unchanged.
 */
export async function importBundle(
  db: StudioDb,
  bytes: Uint8Array,
  options: { limits?: Partial<BundleLimits>; now?: number } = {},
): Promise<ImportResult> {
  const snapshot = await parseBundle(bytes, { ...DEFAULT_LIMITS, ...options.limits });
  const experiment = await writeSnapshotAsNew(db, snapshot, { action: 'import the experiment', now: options.now ?? Date.now() });
  return {
    experiment,
    counts: {
      tasks: snapshot.tasks.length,
      runs: snapshot.runs.length,
      steps: snapshot.steps.length,
      samples: snapshot.samples.length,
      trainingRuns: snapshot.trainingRuns.length,
      adapters: snapshot.adapters.length,
    },
  };
}

/**
 * Experiment → bundle (format.ts). Rows are read in one transaction, references to rows that no longer
 * exist are cleared (so every bundle this writes can be imported), and each row is copied field by field so
 * only known fields leave the database.
 */
import type { StudioDb } from '../db.ts';
import { SCHEMA_VERSION } from '../schema.ts';
import { dropDanglingReferences, readSnapshot, type ExperimentSnapshot } from '../snapshot.ts';
import type { Experiment, Run, Sample, Step, Task } from '../types.ts';
import { sha256Hex } from '../../core/io/sha256.ts';
import {
  BUNDLE_EXTENSION,
  BUNDLE_FORMAT,
  BUNDLE_VERSION,
  ENTRY,
  ggufEntryName,
  weightsEntryName,
  type BundleAdapter,
  type BundleTrainingRun,
  type Manifest,
} from './format.ts';
import { writeZip } from './zip.ts';

const encoder = new TextEncoder();
const jsonl = (rows: unknown[]) => encoder.encode(rows.map((r) => JSON.stringify(r) + '\n').join(''));

function experimentRow(e: Experiment): Experiment {
  return { id: e.id, name: e.name, modelId: e.modelId, engine: e.engine, settings: e.settings, createdAt: e.createdAt, updatedAt: e.updatedAt };
}

function taskRow(t: Task): Task {
  return {
    id: t.id, experimentId: t.experimentId, taskSetId: t.taskSetId, kind: t.kind, prompt: t.prompt,
    reference: t.reference, checker: t.checker, split: t.split, createdAt: t.createdAt,
  };
}

function runRow(r: Run): Run {
  return {
    id: r.id, experimentId: r.experimentId, kind: r.kind, status: r.status, config: r.config, progress: r.progress,
    metrics: r.metrics, startedAt: r.startedAt, updatedAt: r.updatedAt, finishedAt: r.finishedAt, error: r.error,
  };
}

function stepRow(s: Step): Step {
  return {
    id: s.id, experimentId: s.experimentId, runId: s.runId, kind: s.kind, taskId: s.taskId, loopId: s.loopId,
    evolutionRound: s.evolutionRound, refineRound: s.refineRound, text: s.text, prompt: s.prompt,
    feedback: s.feedback, parseStatus: s.parseStatus, score: s.score, promptTokens: s.promptTokens,
    completionTokens: s.completionTokens, ...(s.finishReason ? { finishReason: s.finishReason } : {}),
    startedAt: s.startedAt, durationMs: s.durationMs,
    prefillTokensPerSec: s.prefillTokensPerSec, decodeTokensPerSec: s.decodeTokensPerSec, seed: s.seed,
    engine: s.engine, modelId: s.modelId, adapterId: s.adapterId, source: s.source,
  };
}

function sampleRow(s: Sample): Sample {
  return {
    id: s.id, experimentId: s.experimentId, prompt: s.prompt, chosen: s.chosen, rejected: s.rejected,
    feedback: s.feedback, provenance: { stepIds: s.provenance.stepIds, runId: s.provenance.runId, round: s.provenance.round },
    included: s.included, format: s.format, createdAt: s.createdAt,
  };
}

function trainingRunRow(r: BundleTrainingRun): BundleTrainingRun {
  return {
    id: r.id, experimentId: r.experimentId, config: r.config, status: r.status, startedAt: r.startedAt,
    updatedAt: r.updatedAt, finishedAt: r.finishedAt, adapterId: r.adapterId, error: r.error, metrics: r.metrics,
  };
}

/** Builds the bundle's entries from a snapshot (exported for tests that craft bundles). */
export async function snapshotToEntries(snapshot: ExperimentSnapshot, exportedAt: number): Promise<Map<string, Uint8Array>> {
  const s = dropDanglingReferences(snapshot);
  const files = new Map<string, Uint8Array>();
  const adapters: BundleAdapter[] = [];
  for (const [i, a] of s.adapters.entries()) {
    const weightsEntry = weightsEntryName(i);
    files.set(weightsEntry, new Uint8Array(await a.weights.arrayBuffer()));
    let ggufEntry: string | null = null;
    if (a.gguf) {
      ggufEntry = ggufEntryName(i);
      files.set(ggufEntry, new Uint8Array(await a.gguf.arrayBuffer()));
    }
    adapters.push({
      id: a.id, experimentId: a.experimentId, name: a.name, baseModelId: a.baseModelId, config: a.config,
      trainingRunId: a.trainingRunId, createdAt: a.createdAt, weightsEntry, ggufEntry,
    });
  }
  const json = new Map<string, Uint8Array>([
    [ENTRY.experiment, encoder.encode(JSON.stringify(experimentRow(s.experiment), null, 2) + '\n')],
    [ENTRY.tasks, jsonl(s.tasks.map(taskRow))],
    [ENTRY.runs, jsonl(s.runs.map(runRow))],
    [ENTRY.steps, jsonl(s.steps.map(stepRow))],
    [ENTRY.samples, jsonl(s.samples.map(sampleRow))],
    [ENTRY.trainingRuns, jsonl(s.trainingRuns.map(trainingRunRow))],
    [ENTRY.adapters, jsonl(adapters)],
  ]);
  const all = new Map([...json, ...files]);
  const manifest: Manifest = {
    format: BUNDLE_FORMAT,
    version: BUNDLE_VERSION,
    schemaVersion: SCHEMA_VERSION,
    exportedAt,
    counts: {
      tasks: s.tasks.length,
      runs: s.runs.length,
      steps: s.steps.length,
      samples: s.samples.length,
      trainingRuns: s.trainingRuns.length,
      adapters: s.adapters.length,
    },
    files: await Promise.all([...all].map(async ([name, data]) => ({ name, bytes: data.length, sha256: await sha256Hex(data) }))),
  };
  return new Map([[ENTRY.manifest, encoder.encode(JSON.stringify(manifest, null, 2) + '\n')], ...all]);
}

/** A file name for the bundle: the experiment's name made safe for file systems. */
export function bundleFileName(experimentName: string): string {
  const base = experimentName.replace(/[^\p{L}\p{N} _.-]+/gu, '_').replace(/\s+/g, ' ').trim().slice(0, 80) || 'experiment';
  return base + BUNDLE_EXTENSION;
}

export interface ExportedBundle {
  bytes: Uint8Array;
  fileName: string;
}

/** Exports an experiment with its tasks, runs, steps, samples, training runs and adapters as one zip. */
export async function exportBundle(db: StudioDb, experimentId: string, now = Date.now()): Promise<ExportedBundle> {
  const snapshot = await readSnapshot(db, experimentId);
  const entries = await snapshotToEntries(snapshot, now);
  return { bytes: writeZip(entries), fileName: bundleFileName(snapshot.experiment.name) };
}

/**
 * The experiment bundle: one zip file per experiment.
 *
 *   manifest.json         { format, version, schemaVersion, exportedAt, counts, files: [{ name, bytes, sha256 }] }
 *   experiment.json       the experiment row
 *   tasks.jsonl           one task row per line          (each table in the order it was created)
 *   runs.jsonl            one run row per line
 *   steps.jsonl           one step row per line
 *   samples.jsonl         one sample row per line
 *   training-runs.jsonl   one training run per line, with its loss curve inline as `metrics`
 *   adapters.jsonl        one adapter per line; its Blobs are the entries named in weightsEntry / ggufEntry
 *   adapters/<n>.safetensors, adapters/<n>.gguf   the adapter bytes (n = the adapter's line, from 0)
 *
 * Rows are the database rows with their original ids. The manifest lists every other entry with its size and
 * SHA-256, so a truncated or altered file is caught before anything is written. Import checks everything
 * (see import.ts) and then writes the experiment under fresh ids in one transaction.
 */
import type { Adapter, ExperimentCounts } from '../types.ts';
import type { TrainingRunWithMetrics } from '../snapshot.ts';

export const BUNDLE_FORMAT = 'self-refine-studio/experiment';
export const BUNDLE_VERSION = 1;
export const BUNDLE_EXTENSION = '.srs.zip';

export const ENTRY = {
  manifest: 'manifest.json',
  experiment: 'experiment.json',
  tasks: 'tasks.jsonl',
  runs: 'runs.jsonl',
  steps: 'steps.jsonl',
  samples: 'samples.jsonl',
  trainingRuns: 'training-runs.jsonl',
  adapters: 'adapters.jsonl',
} as const;

/** Binary entries: adapters/<line>.safetensors or adapters/<line>.gguf. Nothing else is accepted. */
export const BLOB_ENTRY = /^adapters\/(0|[1-9][0-9]{0,5})\.(safetensors|gguf)$/;

export const weightsEntryName = (index: number) => `adapters/${index}.safetensors`;
export const ggufEntryName = (index: number) => `adapters/${index}.gguf`;

export interface ManifestFile {
  name: string;
  bytes: number;
  /** Lowercase hex SHA-256 of the entry's bytes. */
  sha256: string;
}

export interface Manifest {
  format: typeof BUNDLE_FORMAT;
  version: typeof BUNDLE_VERSION;
  /** The database schema version of the exporting app (informational). */
  schemaVersion: number;
  exportedAt: number;
  counts: ExperimentCounts;
  files: ManifestFile[];
}

/** An adapter row as written in adapters.jsonl: Blobs replaced by the names of their entries. */
export interface BundleAdapter extends Omit<Adapter, 'weights' | 'gguf'> {
  weightsEntry: string;
  ggufEntry: string | null;
}

export type BundleTrainingRun = TrainingRunWithMetrics;

/** Size limits an import enforces (all in bytes or characters). Tests may pass smaller ones. */
export interface BundleLimits {
  /** The zip file itself. */
  fileBytes: number;
  /** All entries, uncompressed, together (against zip bombs). */
  totalBytes: number;
  /** One JSON / JSONL entry, uncompressed. */
  jsonEntryBytes: number;
  /** One adapter file, uncompressed. */
  blobEntryBytes: number;
  entries: number;
  /** Rows of one table. */
  rows: number;
  /** One text field (prompts, model outputs, critiques). */
  textChars: number;
}

export const DEFAULT_LIMITS: BundleLimits = {
  fileBytes: 512 * 2 ** 20,
  totalBytes: 1024 * 2 ** 20,
  jsonEntryBytes: 256 * 2 ** 20,
  blobEntryBytes: 512 * 2 ** 20,
  entries: 10_000,
  rows: 1_000_000,
  textChars: 1_000_000,
};

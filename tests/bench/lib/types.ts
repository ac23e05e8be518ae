/**
 * The benchmark framework's contract. A suite is a module in tests/bench/suites/ exporting `suite: BenchSuite`.
 * `npm run bench` runs every suite in each environment it lists: in Node, and in Chromium through the runtime
 * harness page (tests/e2e/harness), which bundles the suites — so a suite imports only environment-neutral
 * code (src/core and this file) and gets everything environment-specific from the context.
 */
import type { ActiveBackend, BackendName } from '../../../src/core/backend/select.ts';

export type BenchEnv = 'node' | 'browser';

/** One measured number. */
export interface BenchRow {
  suite: string;
  env: BenchEnv;
  backend: string;
  metric: string;
  value: number;
  unit: string;
  note?: string;
}

/** What a suite returns: the runner fills in suite and env. */
export type SuiteRow = Omit<BenchRow, 'suite' | 'env'>;

export interface BenchBackend extends ActiveBackend {
  crossOriginIsolated: boolean | null;
}

export interface BenchContext {
  env: BenchEnv;
  /** Options from the command line (`--quick` → { quick: true }). */
  options: Readonly<Record<string, string | boolean>>;
  useBackend(name: BackendName): Promise<BenchBackend>;
  /** Resident memory of the whole process (Node) or the JS heap in use (Chromium), or null when unknown. */
  processBytes(): number | null;
  log(line: string): void;
}

export interface BenchSuite {
  name: string;
  description: string;
  environments: readonly BenchEnv[];
  run(ctx: BenchContext): Promise<SuiteRow[]>;
}

/** The backend column of a row, e.g. `wasm (simd build, 1 thread)`. */
export function wasmLabel(backend: BenchBackend): string {
  const build = backend.threadedBuild ? 'threaded-simd build' : backend.simd ? 'simd build' : 'plain build';
  return `wasm (${build}, ${backend.threads ?? 1} thread${backend.threads === 1 ? '' : 's'})`;
}

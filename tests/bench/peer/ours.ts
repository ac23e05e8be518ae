/**
 * Our side of `npm run bench -- --only peer`, run in a child process per thread count (tfjs-wasm fixes its
 * thread pool when the backend starts, so one process cannot measure two counts):
 *
 *   node --import tsx tests/bench/peer/ours.ts '{"threads":2,"quick":false,"weights":"int8"}'   (or "f32-packed")
 *   node --import tsx tests/bench/peer/ours.ts '{"threads":1,"quick":false,"kernels":false}'   ("before")
 *
 * Measures the plan on this process's backend (measure-ours.ts) and prints one JSON line (SideFigures).
 */
import { useNodeBackend } from '../../../src/cli/node-backend.ts';
import type { WeightFormat } from '../../../src/core/kernels/load-format.ts';
import { wasmLabel } from '../lib/types.ts';
import { measureOurs } from './measure-ours.ts';
import { peerPlan } from './plan.ts';

interface Args {
  threads: number;
  quick: boolean;
  weights?: WeightFormat;
  /** false: tfjs ops only, as main's engine before issue 10 (with threads 1: its single-threaded SIMD build). */
  kernels?: boolean;
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as Args;
  const backend = await useNodeBackend('wasm', { threads: args.threads, kernels: args.kernels !== false });
  const out = await measureOurs(peerPlan(args.quick), args.weights ?? 'f32', wasmLabel({ ...backend, crossOriginIsolated: null }), backend.threads ?? 1);
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);

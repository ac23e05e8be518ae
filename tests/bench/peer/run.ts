/**
 * `npm run bench -- --only peer` (Node only): our tfjs engine beside llama.cpp on the same random weights.
 *
 * 1. llama.cpp: node-llama-cpp at the pinned version, installed on first use outside the repo
 *    (tests/scripts/llama-peer.ts).
 * 2. The plan's random weights (plan.ts: SmolLM2-135M's shape, seed 1) are written as GGUF F32 and Q8_0 by the
 *    project's own full-model writer (runMerge, as `lm export-gguf` does), with the toy model's tokenizer
 *    padded to the vocabulary (the figures do not depend on the tokens' text).
 * 3. For each round, for 1 thread and for every core: ours on F32 (the tfjs tensors' layout), on packed F32
 *    (the same values in decode's panel layout) and on our 8-bit weights (a child process each, ours.ts) then llama.cpp on F32 and on Q8_0, the order flipped every other round so that drifting
 *    load hits both sides alike.
 *    Each round also runs "before": our engine as it was before issue 10 — the same tfjs ops (llama.ts
 *    forwardCached, kv-cache.ts) on tfjs-wasm's single-threaded SIMD build, our kernels not attached.
 * 4. Each figure is the median over the rounds of each round's value (decode: that round's median step);
 *    ratios are ours F32 (and packed F32) ÷ llama.cpp F32 and ours 8-bit ÷ llama.cpp Q8_0 of those medians, and
 *    ours F32 ÷ before.
 * 5. Both prefills' rate of matrix products in GFLOP/s (prefillRateRows).
 *
 * llama.cpp runs with its default F16 KV cache (as its users run it; faster for it than our F32 cache).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runMerge } from '../../../src/core/engine/tfjs/merge-run.ts';
import type { WeightFormat } from '../../../src/core/kernels/load-format.ts';
import { randomWeights } from '../../../src/core/model/init.ts';
import { disposeWeights } from '../../../src/core/model/weights.ts';
import type { BenchContext, SuiteRow } from '../lib/types.ts';
import { ensureLlamaPeer, LLAMA_PEER_VERSION, openPeerModel } from '../../scripts/llama-peer.ts';
import { peerPlan, peerPrompt, prefillMatmulFlop, type PeerPlan, type SideFigures } from './plan.ts';
import { median } from '../../../src/core/stats/median.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const TOKENIZER_DIR = join(ROOT, 'public/models/toy-arith');
type PeerDtype = 'F32' | 'Q8_0';

/** The plan's random weights as GGUF files (F32 and Q8_0, or the `dtypes` asked) in `dir`. */
export async function writeGgufs(plan: PeerPlan, dir: string, log: (l: string) => void, dtypes: readonly PeerDtype[] = ['F32', 'Q8_0']): Promise<Record<PeerDtype, string>> {
  const files = new Map<string, Uint8Array>();
  for (const name of ['tokenizer.json', 'tokenizer_config.json']) files.set(name, new Uint8Array(await readFile(join(TOKENIZER_DIR, name))));
  const weights = randomWeights(plan.config, plan.seed);
  const paths = {} as Record<PeerDtype, string>;
  try {
    for (const dtype of dtypes) {
      const run = await runMerge({ config: plan.config, weights }, null, files, { format: 'gguf', dtype, name: 'random-smollm2-135m-shape' });
      const bytes = run.files.get('model.gguf');
      if (!bytes) throw new Error('the GGUF writer returned no model.gguf');
      paths[dtype] = join(dir, `model-${dtype}.gguf`);
      await writeFile(paths[dtype], bytes);
      log(`wrote ${paths[dtype]} (${(bytes.byteLength / 2 ** 20).toFixed(0)} MiB)`);
    }
  } finally {
    disposeWeights(weights);
  }
  return paths;
}

/** Our side in a child process (its own tfjs-wasm thread pool). */
function ours(threads: number, quick: boolean, weights: WeightFormat, kernels = true): Promise<SideFigures> {
  const script = join(ROOT, 'tests/bench/peer/ours.ts');
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify({ threads, quick, weights, kernels })], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', fail);
    child.on('close', (code) => {
      if (code !== 0) return fail(new Error(`ours.ts (threads ${threads}) exited with ${code}: ${err.trim().split('\n').slice(-5).join('\n')}`));
      ok(JSON.parse(out.trim().split('\n').pop() ?? '{}') as SideFigures);
    });
  });
}

async function llama(plan: PeerPlan, path: string, dtype: PeerDtype, threads: number): Promise<SideFigures> {
  const longest = Math.max(plan.prefill, ...plan.contexts);
  const peer = await openPeerModel(path, { threads, kvCache: 'F16', contextSize: longest + plan.decodeSteps + 8 });
  const V = plan.config.vocabSize;
  try {
    await peer.timedGreedy(peerPrompt(8, V), 3); // warm-up
    const prefill = (plan.prefill * 1000) / (await peer.timedGreedy(peerPrompt(plan.prefill, V), 1)).prefillMs;
    const decode: Record<number, number> = {};
    for (const context of plan.contexts) {
      const { stepMs } = await peer.timedGreedy(peerPrompt(context, V), plan.decodeSteps + 2);
      decode[context] = 1000 / median(stepMs.slice(1)); // the first step after the prompt is untimed, as ours
    }
    return { label: `llama.cpp ${dtype} (node-llama-cpp ${LLAMA_PEER_VERSION})`, threads, prefill, decode };
  } finally {
    await peer.dispose();
  }
}

export const threadsText = (n: number): string => `${n} thread${n === 1 ? '' : 's'}`;

export async function runPeer(ctx: BenchContext): Promise<SuiteRow[]> {
  const quick = ctx.options.quick === true;
  const plan = peerPlan(quick);
  const rows: SuiteRow[] = [];
  const row = (backend: string, metric: string, value: number, unit: string, note?: string): void => {
    rows.push({ backend, metric, value, unit, ...(note ? { note } : {}) });
  };
  row('machine', 'load average (1 min) at start', loadavg()[0], 'processes', `${availableParallelism()} cores`);
  await ensureLlamaPeer({ log: ctx.log });
  await ctx.useBackend('cpu'); // the parent only builds and writes the weights
  const dir = await mkdtemp(join(tmpdir(), 'peer-bench-'));
  try {
    const paths = await writeGgufs(plan, dir, ctx.log);
    const threadCounts = [...new Set([1, availableParallelism()])];
    const before: SideFigures[] = [];
    const runs = new Map<number, Runs>(threadCounts.map((t) => [t, { ours: [], oursP: [], ours8: [], F32: [], Q8_0: [] }]));
    for (let round = 0; round < plan.rounds; round++) {
      for (const t of threadCounts) {
        const r = runs.get(t)!;
        const sides: Array<() => Promise<void>> = [
          async () => {
            if (t === 1) before.push(await ours(1, quick, 'f32', false));
            r.ours.push(await ours(t, quick, 'f32'));
            r.oursP.push(await ours(t, quick, 'f32-packed'));
            r.ours8.push(await ours(t, quick, 'int8'));
          },
          async () => {
            r.F32.push(await llama(plan, paths.F32, 'F32', t));
            r.Q8_0.push(await llama(plan, paths.Q8_0, 'Q8_0', t));
          },
        ];
        if (round % 2) sides.reverse();
        for (const side of sides) await side();
        const last = (xs: SideFigures[]) => xs[xs.length - 1];
        const sidesRun: Array<[string, SideFigures]> = [...(t === 1 ? [['before', last(before)] as [string, SideFigures]] : []), ['ours F32', last(r.ours)], ['ours packed F32', last(r.oursP)], ['ours 8-bit', last(r.ours8)], ['llama.cpp F32', last(r.F32)], ['llama.cpp Q8_0', last(r.Q8_0)]];
        ctx.log(`round ${round + 1}, ${threadsText(t)}: ${sidesRun.map(([name, s]) => summary(name, s)).join(' | ')}; load ${loadavg()[0].toFixed(1)}`);
      }
      // The medians so far, so that a run stopped early still leaves a table.
      if (round < plan.rounds - 1) ctx.log(`\nafter round ${round + 1}:\n${markdownTable(medianRows(plan, threadCounts, runs, before), plan, threadCounts)}`);
    }
    rows.push(...medianRows(plan, threadCounts, runs, before));
    rows.push(...prefillRateRows(plan, threadCounts, runs, ctx.log));
    row('machine', 'load average (1 min) at end', loadavg()[0], 'processes');
    ctx.log(`\n${markdownTable(rows, plan, threadCounts)}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return rows;
}

type Runs = { ours: SideFigures[]; oursP: SideFigures[]; ours8: SideFigures[]; F32: SideFigures[]; Q8_0: SideFigures[] };

/** Each figure's median over the rounds run so far, per side and thread count, and the ratios. */
function medianRows(plan: PeerPlan, threadCounts: readonly number[], runs: ReadonlyMap<number, Runs>, before: readonly SideFigures[]): SuiteRow[] {
  const rows: SuiteRow[] = [];
  const figures: Array<[string, (s: SideFigures) => number]> = [
    [`prefill ${plan.prefill} tokens`, (s) => s.prefill],
    ...plan.contexts.map((c): [string, (s: SideFigures) => number] => [`decode @ context ${c}`, (s) => s.decode[c]]),
  ];
  for (const t of threadCounts) {
    const r = runs.get(t)!;
    const note = `median of ${r.ours.length}`;
    const row = (backend: string, metric: string, value: number, unit: string, n?: string): void => void rows.push({ backend, metric, value, unit, ...(n ? { note: n } : {}) });
    for (const [metric, f] of figures) {
      const [a, a0, ap, a8, b, q] = [r.ours, before, r.oursP, r.ours8, r.F32, r.Q8_0].map((xs) => median(xs.map(f)));
      if (t === 1) row(`before: ${before[0].label}`, metric, a0, 'tokens/s', `median of ${before.length}`);
      row(`ours F32: ${r.ours[0].label}`, `${metric}, ${threadsText(t)} asked`, a, 'tokens/s', note);
      row(`ours packed F32: ${r.oursP[0].label}`, `${metric}, ${threadsText(t)} asked`, ap, 'tokens/s', note);
      row(`ours 8-bit: ${r.ours8[0].label}`, `${metric}, ${threadsText(t)} asked`, a8, 'tokens/s', note);
      row(r.F32[0].label, `${metric}, ${threadsText(t)}`, b, 'tokens/s', note);
      row(r.Q8_0[0].label, `${metric}, ${threadsText(t)}`, q, 'tokens/s', note);
      row('ours F32 ÷ llama.cpp F32', `${metric}, ${threadsText(t)}`, a / b, 'ratio', 'goal ≥ 1.0');
      row('ours packed F32 ÷ llama.cpp F32', `${metric}, ${threadsText(t)}`, ap / b, 'ratio', 'goal ≥ 1.0');
      row('ours 8-bit ÷ llama.cpp Q8_0', `${metric}, ${threadsText(t)}`, a8 / q, 'ratio', metric.startsWith('decode') ? 'goal ≥ 0.5' : '');
      row('ours F32 ÷ before', `${metric}, ${threadsText(t)}`, a / a0, 'ratio');
    }
  }
  return rows;
}

/**
 * Each prefill's rate of matrix products (prefillMatmulFlop over its time; the same count for both sides), ours
 * packed F32 and llama.cpp F32: what the prefill ratio means in arithmetic per second.
 */
function prefillRateRows(plan: PeerPlan, threadCounts: readonly number[], runs: ReadonlyMap<number, Runs>, log: (l: string) => void): SuiteRow[] {
  const rows: SuiteRow[] = [];
  const gflopPerToken = prefillMatmulFlop(plan.config, plan.prefill) / plan.prefill / 1e9;
  for (const t of threadCounts) {
    const r = runs.get(t)!;
    const rates: Array<[string, number]> = [['ours packed F32', median(r.oursP.map((s) => s.prefill)) * gflopPerToken], ['llama.cpp F32', median(r.F32.map((s) => s.prefill)) * gflopPerToken]];
    for (const [backend, value] of rates) rows.push({ backend, metric: `prefill ${plan.prefill}: matrix products ÷ time, ${threadsText(t)}`, value, unit: 'GFLOP/s', note: 'attention not counted' });
    log(`${threadsText(t)}: prefill matrix products ${rates.map(([n, v]) => `${n} ${v.toFixed(1)} GFLOP/s`).join(', ')}`);
  }
  return rows;
}

export function summary(name: string, s: SideFigures): string {
  return `${name} prefill ${s.prefill.toFixed(1)}, decode ${Object.entries(s.decode).map(([c, v]) => `@${c} ${v.toFixed(2)}`).join(' ')}`;
}

/** The README's table: one line per figure, ours and llama.cpp per thread count, and the ratios. */
export function markdownTable(rows: readonly SuiteRow[], plan: PeerPlan, threadCounts: readonly number[]): string {
  const get = (backendStart: string, metric: string) => rows.find((r) => r.backend.startsWith(backendStart) && r.metric === metric)?.value ?? NaN;
  const f = (v: number, unit = '') => (Number.isFinite(v) ? (unit === 'ratio' ? v.toFixed(2) : v.toFixed(1)) : '–');
  const sides: Array<[string, string, boolean]> = [
    ['ours F32', 'ours F32:', true],
    ['ours packed F32', 'ours packed F32:', true],
    ['llama.cpp F32', 'llama.cpp F32', false],
    ['ours 8-bit', 'ours 8-bit:', true],
    ['llama.cpp Q8_0', 'llama.cpp Q8_0', false],
  ];
  const head = [
    'figure (tokens/s)',
    'before (tfjs ops, 1 thread)',
    ...threadCounts.flatMap((t) => sides.map(([name]) => `${name}, ${threadsText(t)}`)),
    ...threadCounts.map((t) => `ours F32 / packed F32 ÷ llama.cpp F32 / ours 8-bit ÷ Q8_0 / ours F32 ÷ before, ${threadsText(t)}`),
  ];
  const lines = [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`];
  const names = [`prefill ${plan.prefill} tokens`, ...plan.contexts.map((c) => `decode @ context ${c}`)];
  for (const name of names) {
    const cells = [name, f(get('before:', name))];
    for (const t of threadCounts) for (const [, prefix, asked] of sides) cells.push(f(get(prefix, `${name}, ${threadsText(t)}${asked ? ' asked' : ''}`)));
    const ratio = (prefix: string, t: number) => f(get(prefix, `${name}, ${threadsText(t)}`), 'ratio');
    for (const t of threadCounts) cells.push(`${ratio('ours F32 ÷ llama', t)} / ${ratio('ours packed F32 ÷', t)} / ${ratio('ours 8-bit ÷', t)} / ${ratio('ours F32 ÷ before', t)}`);
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

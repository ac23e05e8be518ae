/**
 * LoRA training benchmark (issue 4): a randomly initialised model with SmolLM2-135M's shape (30 layers, hidden
 * 576, 9/3 heads, MLP 1536, vocab 49152, tied embeddings), batch 4 × 256 tokens, r = 8 (alpha 16) on q/v and on
 * all seven projections, AdamW, through the trainer's own loss (src/core/engine/tfjs/train-run.ts) and loop.
 * Reports step time (median of the timed steps), tokens/s, peak tensor memory (tf.profile of the warm-up
 * step), the wasm heap, and the achieved FLOP/s as a fraction of a plain matmul's FLOP/s measured in the same
 * run on the same backend. In Node, where Debian's python3-torch is installed, the same step is timed in
 * PyTorch (tests/bench/torch_lora_step.py, CPU, 2 threads) and the ratio printed (BENCH_NO_TORCH=1 skips it).
 *
 * FLOPs of a step (model FLOPs: what the step must compute, not what an implementation recomputes), with
 * n = B·T tokens, N = the frozen decoder's linear weights (Σ in·out over q, k, v, o, gate, up, down and layers)
 * and H·V the LM head:
 *   frozen matmuls      4·(N + H·V)·n      forward 2·W·n, and the activation gradient 2·W·n (no weight
 *                                          gradient for frozen weights)
 *   LoRA                6·r·(in + out)·n   per adapted projection: forward 2, backward 4 (dA, dB, dx)
 *   attention           12·T·nH·hD·n       per layer: QKᵀ and P·V over the full T×T scores forward (4),
 *                                          twice that backward (8)
 * Norms, RoPE, softmax, SiLU and the optimizer are left out (small, not matmuls). So is the extra forward pass
 * of gradient checkpointing, which the trainer turns on when activations would exceed its budget (it does at
 * the full size: 30 layers × ~300 MB would not fit in wasm's 4 GB), so at most 4/6 of the linear work counts.
 * `--quick` shrinks the model (4 layers, vocab 4096) and the batch (2 × 64) to check the machinery.
 */
import * as tf from '@tensorflow/tfjs';
import { activationBytes, ACTIVATION_BUDGET_BYTES, loraGradFn, transposedHead } from '../../../src/core/engine/tfjs/train-run.ts';
import { disposeLora, initLora } from '../../../src/core/lora/init.ts';
import { randomWeights } from '../../../src/core/model/init.ts';
import { PROJECTIONS, projectionDims, type ModelConfig, type Projection } from '../../../src/core/model/types.ts';
import { disposeWeights } from '../../../src/core/model/weights.ts';
import { AdamW } from '../../../src/core/train/adamw.ts';
import type { BatchSource, TokenBatch } from '../../../src/core/train/batches.ts';
import { loraParamMap } from '../../../src/core/train/lora-params.ts';
import { train } from '../../../src/core/train/loop.ts';
import { type BenchContext, type BenchSuite, type SuiteRow, wasmLabel } from '../lib/types.ts';
import { SMOLLM2_135M_SHAPE } from './runtime.ts';
import { median } from '../../../src/core/stats/median.ts';

interface Plan {
  config: ModelConfig;
  batch: number;
  seqLen: number;
  timedSteps: number;
}

function plan(quick: boolean): Plan {
  if (quick) return { config: { ...SMOLLM2_135M_SHAPE, numLayers: 4, vocabSize: 4096 }, batch: 2, seqLen: 64, timedSteps: 1 };
  return { config: SMOLLM2_135M_SHAPE, batch: 4, seqLen: 256, timedSteps: 2 };
}

const RANK = 8;
const TARGET_SETS: Array<[string, Projection[]]> = [
  ['q,v', ['q_proj', 'v_proj']],
  ['all 7', [...PROJECTIONS]],
];

/** Model FLOPs of one training step (see the module comment). */
export function stepFlops(c: ModelConfig, targets: readonly Projection[], r: number, batch: number, seqLen: number): number {
  const n = batch * seqLen;
  let frozen = 0;
  let lora = 0;
  for (const p of PROJECTIONS) {
    const { inFeatures, outFeatures } = projectionDims(c, p);
    frozen += inFeatures * outFeatures;
    if (targets.includes(p)) lora += r * (inFeatures + outFeatures);
  }
  const linear = 4 * (c.numLayers * frozen + c.hiddenSize * c.vocabSize) * n;
  const adapters = 6 * c.numLayers * lora * n;
  const attention = 12 * seqLen * c.numHeads * c.headDim * c.numLayers * n;
  return linear + adapters + attention;
}

/** GFLOP/s of a plain [n, H]·[H, I] matmul (the model's own MLP shape), median of several runs. */
async function plainMatmulGflops(n: number, c: ModelConfig): Promise<number> {
  const x = tf.randomNormal([n, c.hiddenSize]);
  const w = tf.randomNormal([c.hiddenSize, c.intermediateSize]);
  const once = async (): Promise<number> => {
    const t0 = performance.now();
    const y = tf.matMul(x, w);
    await y.data();
    y.dispose();
    return performance.now() - t0;
  };
  await once();
  const times: number[] = [];
  for (let i = 0; i < 7; i++) times.push(await once());
  tf.dispose([x, w]);
  return (2 * n * c.hiddenSize * c.intermediateSize) / (median(times) / 1000) / 1e9;
}

/** Node only: the same step in PyTorch, via tests/bench/torch_lora_step.py (null where torch is missing). */
async function torchStep(ctx: BenchContext, p: Plan, targets: readonly Projection[]): Promise<{ stepSeconds: number; tokensPerSec: number; matmulGflops: number; blas: string; threads: number; torch: string } | null> {
  if (ctx.env !== 'node') return null;
  if ((globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.BENCH_NO_TORCH) {
    ctx.log('PyTorch comparison skipped (BENCH_NO_TORCH is set)');
    return null;
  }
  // Module names in variables: the browser harness bundles this file and must not try to resolve them.
  const childProcess = 'node:child_process';
  const url = 'node:url';
  const { execFile } = (await import(/* @vite-ignore */ childProcess)) as typeof import('node:child_process');
  const { fileURLToPath } = (await import(/* @vite-ignore */ url)) as typeof import('node:url');
  const script = fileURLToPath(new URL(['..', 'torch_lora_step.py'].join('/'), import.meta.url));
  const args = [script, '--layers', String(p.config.numLayers), '--vocab', String(p.config.vocabSize), '--batch', String(p.batch), '--seq', String(p.seqLen)];
  // Debian's torch uses the generic reference BLAS (minutes per full-size step on this machine): at full size
  // one untimed warm-up is skipped and one step is timed.
  const steps = p.timedSteps > 1 ? ['--warmup', '0', '--steps', '1'] : ['--warmup', '1', '--steps', String(p.timedSteps)];
  args.push('--rank', String(RANK), '--alpha', String(2 * RANK), '--targets', targets.length === PROJECTIONS.length ? 'all' : targets.join(','), '--threads', '2', ...steps);
  return new Promise((resolve) => {
    execFile('/usr/bin/python3', args, { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) {
        ctx.log(`PyTorch comparison skipped: ${(stderr || err.message).trim().split('\n').pop()}`);
        resolve(null);
        return;
      }
      resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '{}'));
    });
  });
}

async function loadAverage(ctx: BenchContext): Promise<number | null> {
  if (ctx.env !== 'node') return null;
  const os = 'node:os';
  return ((await import(/* @vite-ignore */ os)) as typeof import('node:os')).loadavg()[0];
}

export const suite: BenchSuite = {
  name: 'train-lora',
  description: 'LoRA training step at SmolLM2-135M shape (4×256 tokens; r 8 on q/v and on all 7): time, tokens/s, peak memory, FLOP/s vs plain matmul; PyTorch ratio (Node)',
  environments: ['node', 'browser'],
  async run(ctx: BenchContext): Promise<SuiteRow[]> {
    const p = plan(ctx.options.quick === true);
    const backend = await ctx.useBackend('wasm');
    const label = wasmLabel(backend);
    const rows: SuiteRow[] = [];
    const row = (metric: string, value: number, unit: string, note?: string): void => {
      rows.push({ backend: label, metric, value, unit, ...(note ? { note } : {}) });
      ctx.log(`${metric}: ${value.toFixed(unit === 'ratio' ? 3 : 2)} ${unit}${note ? ` (${note})` : ''}`);
    };
    const load = await loadAverage(ctx);
    if (load !== null) row('load average (1 min) at start', load, 'processes', 'the machine is shared');
    const n = p.batch * p.seqLen;
    const checkpointing = activationBytes(p.config, p.batch, p.seqLen) > ACTIVATION_BUDGET_BYTES;
    ctx.log(`gradient checkpointing: ${checkpointing ? 'on (activations would exceed the budget)' : 'off'}`);
    ctx.log(`backend ${label}; building a ${p.config.numLayers}-layer model with random weights…`);
    const weights = randomWeights(p.config, 1);
    const model = { config: p.config, weights };
    const headT = transposedHead(model);
    const ids = Int32Array.from({ length: n }, (_, i) => (i * 7919 + 13) % p.config.vocabSize);
    const batch: TokenBatch = { inputIds: ids, labels: ids, rows: p.batch, seqLen: p.seqLen, tokens: n, weight: p.batch * (p.seqLen - 1) };
    const batches: BatchSource<TokenBatch> = { perEpoch: 1, get: () => batch };
    try {
      for (const [name, targets] of TARGET_SETS) {
        const lora = initLora({ r: RANK, alpha: 2 * RANK, dropout: 0, rslora: false, targetModules: targets, layers: null }, p.config, 0);
        const optimizer = new AdamW();
        const common = { params: loraParamMap(lora), gradFn: loraGradFn(model, lora, 'sft', 0.1, { headT }), batches, optimizer, schedule: () => 2e-4 };
        try {
          // Warm-up step (kernels, XNNPACK packing, heap growth), profiled for peak memory.
          const profile = await tf.profile(async () => {
            await train({ ...common, totalSteps: 1 });
          });
          // The baseline is measured before and after every timed step, so that both see the same load.
          const times: number[] = [];
          const baseline: number[] = [await plainMatmulGflops(n, p.config)];
          await train({
            ...common,
            totalSteps: p.timedSteps,
            onStep: async (s) => {
              times.push(s.stepMs);
              baseline.push(await plainMatmulGflops(n, p.config));
            },
          });
          const mm = median(baseline);
          row(`plain matmul [${n}×${p.config.hiddenSize}]·[${p.config.hiddenSize}×${p.config.intermediateSize}] (${name} run)`, mm, 'GFLOP/s', `baseline, same backend; median of ${baseline.length}, around the timed steps`);
          const seconds = median(times) / 1000;
          const flops = stepFlops(p.config, targets, RANK, p.batch, p.seqLen);
          const achieved = flops / seconds / 1e9;
          row(`r=${RANK} ${name}: model FLOPs per step`, flops / 1e9, 'GFLOP');
          row(`r=${RANK} ${name}: step time (${p.batch}×${p.seqLen})`, seconds, 's', `median of ${times.length}`);
          row(`r=${RANK} ${name}: tokens/s`, n / seconds, 'tokens/s');
          row(`r=${RANK} ${name}: achieved`, achieved, 'GFLOP/s');
          row(`r=${RANK} ${name}: achieved / plain matmul`, achieved / mm, 'ratio', `goal ≥ 0.5; checkpointing ${checkpointing ? 'on' : 'off'}`);
          row(`r=${RANK} ${name}: peak tensor memory`, profile.peakBytes / 2 ** 20, 'MiB', 'weights + activations, warm-up step');
          const heap = (tf.backend() as { wasm?: { HEAPU8: Uint8Array } }).wasm?.HEAPU8.length;
          if (heap) row(`r=${RANK} ${name}: wasm heap (high-water)`, heap / 2 ** 20, 'MiB');
          const torch = await torchStep(ctx, p, targets);
          if (torch) {
            row(`r=${RANK} ${name}: PyTorch ${torch.torch} step time`, torch.stepSeconds, 's', `CPU, ${torch.threads} threads, BLAS ${torch.blas}`);
            row(`r=${RANK} ${name}: PyTorch plain matmul`, torch.matmulGflops, 'GFLOP/s');
            row(`r=${RANK} ${name}: tfjs tokens/s ÷ PyTorch tokens/s`, n / seconds / torch.tokensPerSec, 'ratio');
          }
        } finally {
          optimizer.dispose();
          disposeLora(lora);
        }
      }
      const bytes = ctx.processBytes();
      if (bytes !== null) row(ctx.env === 'node' ? 'process RSS' : 'JS heap in use', bytes / 2 ** 20, 'MiB');
    } finally {
      if (headT) tf.dispose(headT);
      disposeWeights(weights);
    }
    return rows;
  },
};

/**
 * Which tfjs backend the engine runs on, and why, in words for the user. `auto` takes WebGPU only on a
 * hardware adapter: a software one (SwiftShader, or any adapter that says `isFallbackAdapter`) runs tfjs
 * kernels far slower than the wasm backend on the same CPU (≈ 0.5 vs 27 GFLOP/s for a 512² matmul here),
 * so it counts as no adapter. An explicit `webgpu` is honoured on any adapter (with a warning in the reason).
 */
import { selectBackend, type BackendOptions } from '../../backend/select.ts';
import { chooseWasmThreads, type ThreadFacts } from '../../backend/threads.ts';
import type { ThreadedWasmFiles } from '../../backend/wasm-threaded.ts';
import type { KernelSource } from '../../kernels/module.ts';
import { AppError } from '../../errors.ts';
import { gpuLabel, probeGpu, type GpuInfo, type GpuLike } from '../gpu.ts';
import type { BackendInfo, BackendName } from './api.ts';

export interface BackendDeps {
  /** tfjs-wasm's .wasm files: a folder (Node: node_modules) or one URL per file (browser: Vite `?url` assets). */
  wasmPaths: NonNullable<BackendOptions['wasmPaths']>;
  /** The threaded build's files, made on first use; absent = wasm runs on one thread. */
  threadedWasm?: () => Promise<ThreadedWasmFiles>;
  /** Our wasm kernels' files, or why there are none (then generation runs on tfjs ops only). */
  kernels?: KernelSource;
  /** Cores and shared memory here: navigator.hardwareConcurrency and crossOriginIsolated (Node: every core, true). */
  threadFacts?: Omit<ThreadFacts, 'cap'>;
  /** `navigator.gpu` where there is one; null/undefined in Node. */
  gpu?: GpuLike | null;
}

/** True when a WebGPU adapter is real hardware (not a software fallback such as SwiftShader). */
export function isHardwareAdapter(gpu: GpuInfo): boolean {
  if (!gpu.available || gpu.isFallbackAdapter) return false;
  const name = `${gpu.vendor} ${gpu.architecture} ${gpu.description}`.toLowerCase();
  return !/swiftshader|llvmpipe|lavapipe|software|microsoft basic render/.test(name);
}

/**
 * Starts the backend asked for (`auto`: see the module comment) and says what runs and why. `threadCap` (a
 * setting or --threads) lowers wasm's thread count from every core (threads.ts).
 */
export async function chooseBackend(want: 'auto' | BackendName, deps: BackendDeps, threadCap: number | null = null): Promise<BackendInfo> {
  const facts = deps.threadedWasm ? (deps.threadFacts ?? { cores: 1, isolated: false }) : { cores: 1, isolated: true };
  const choice = deps.threadedWasm ? chooseWasmThreads({ ...facts, cap: threadCap }) : { threads: 1, reason: '1 thread: this build of the engine has no threaded wasm' };
  const options: BackendOptions = { wasmPaths: deps.wasmPaths, wasmThreads: 1, kernels: deps.kernels };
  const wasm = async (reason: string): Promise<BackendInfo> => {
    if (choice.threads > 1 && deps.threadedWasm) {
      options.wasmThreads = choice.threads;
      options.threadedWasm = await deps.threadedWasm();
    }
    const active = await selectBackend('wasm', options);
    const build = active.threadedBuild ? `threaded SIMD build, ${active.threads} threads` : active.simd ? 'SIMD build, 1 thread' : 'plain build, 1 thread';
    // Only the first wasm start in a worker or process decides its threads: say so when that differs.
    const threadReason = active.threads === choice.threads ? choice.reason : `${active.threads} thread${active.threads === 1 ? '' : 's'}: wasm was already started that way here (${choice.reason} would apply to a fresh start)`;
    return { backend: 'wasm', reason: `${reason} (${build})`, threads: active.threads, threadReason, kernels: active.kernels };
  };
  switch (want) {
    case 'cpu':
      await selectBackend('cpu', options);
      return { backend: 'cpu', reason: 'cpu backend as asked (plain JavaScript: slow; for checks)', threads: null, threadReason: null, kernels: null };
    case 'wasm':
      return wasm('wasm backend as asked');
    case 'webgpu': {
      const gpu = await probeGpu(deps.gpu);
      if (!gpu.available) {
        throw new AppError('webgpu-unavailable', `WebGPU was asked for, but ${gpu.reason ?? 'there is no adapter'}. Choose auto or wasm.`);
      }
      await selectBackend('webgpu', options);
      const slow = isHardwareAdapter(gpu) ? '' : ' — a software adapter: expect it to be much slower than wasm';
      return { backend: 'webgpu', reason: `webgpu as asked on ${gpuLabel(gpu)}${slow}`, threads: null, threadReason: null, kernels: null };
    }
    case 'auto': {
      const gpu = await probeGpu(deps.gpu);
      if (!gpu.available) return wasm(`no WebGPU (${gpu.reason ?? 'no adapter'}): using wasm`);
      if (!isHardwareAdapter(gpu)) return wasm(`no hardware WebGPU adapter (${gpuLabel(gpu)} is software): using wasm`);
      try {
        await selectBackend('webgpu', options);
        return { backend: 'webgpu', reason: `hardware WebGPU adapter ${gpuLabel(gpu)}: using webgpu`, threads: null, threadReason: null, kernels: null };
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        return wasm(`WebGPU on ${gpuLabel(gpu)} did not start (${why}): using wasm`);
      }
    }
    default:
      throw new AppError('bad-input', `Unknown tfjs backend "${String(want)}". Choose auto, webgpu, wasm or cpu.`);
  }
}

/**
 * Chooses the tfjs backend: `cpu` (plain JS, anywhere), `wasm` (XNNPACK SIMD; threads when the page is
 * cross-origin isolated), `webgpu` (browsers with navigator.gpu). The caller says where tfjs-wasm's .wasm files
 * are: Node passes node_modules paths, the browser passes URLs (Vite `?url` imports) — core never guesses.
 */
import * as tf from '@tensorflow/tfjs';
import { AppError } from '../errors.ts';
import { useWasmKernelFixes } from './wasm-kernel-fixes.ts';
import { registerThreadedWasm, type ThreadedWasmFiles } from './wasm-threaded.ts';
import { useKernels } from '../kernels/decoder.ts';
import { kernelsReason, noKernels, type KernelSource } from '../kernels/module.ts';

export type BackendName = 'cpu' | 'wasm' | 'webgpu';

export const WASM_FILES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'] as const;
export type WasmFile = (typeof WASM_FILES)[number];

export interface BackendOptions {
  /** A prefix ending in "/" under which the three .wasm files lie, or a URL per file. */
  wasmPaths?: string | Partial<Record<WasmFile, string>>;
  /**
   * tfjs-wasm threads. 1 (the default) loads the single-threaded SIMD build, which works everywhere. n ≥ 2
   * loads the threaded build with n threads (wasm-threaded.ts), from `threadedWasm`; it needs shared memory (a
   * cross-origin isolated page; Node always has it). chooseWasmThreads (threads.ts) picks n. Only the first
   * wasm selection in a page, worker or process decides.
   */
  wasmThreads?: number;
  /** The threaded build's files; required when wasmThreads ≥ 2. */
  threadedWasm?: ThreadedWasmFiles;
  /** Our WebAssembly kernels (src/core/kernels), attached to wasm when given; absent or why not = the tfjs path only. */
  kernels?: KernelSource;
  /** Give up on a backend that has not started after this long (default 60 s) instead of hanging. */
  startTimeoutMs?: number;
}

export interface ActiveBackend {
  name: BackendName;
  /** tfjs-wasm: threads in its thread pool (1 = single-threaded); null for other backends. */
  threads: number | null;
  /** tfjs-wasm: SIMD in use; null for other backends. */
  simd: boolean | null;
  /** tfjs-wasm: the threaded build is loaded (needs cross-origin isolation); null for other backends. */
  threadedBuild: boolean | null;
  /** wasm: whether our kernels run generation, in words ("loaded (2 threads)" or why not); null for other backends. */
  kernels: string | null;
}

let wasmConfigured = false;

export async function selectBackend(name: BackendName, o: BackendOptions = {}): Promise<ActiveBackend> {
  if (name === 'wasm') await registerWasm(o);
  else if (name === 'webgpu') await registerWebgpu();
  else if (name !== 'cpu') throw new AppError('bad-input', `Unknown backend "${String(name)}". Choose cpu, wasm or webgpu.`);
  let ok = false;
  let cause: unknown;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeoutMs = o.startTimeoutMs ?? 60_000;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`it did not start within ${Math.round(timeoutMs / 1000)} s${name === 'wasm' && (o.wasmThreads ?? 1) > 1 ? '; its thread workers may be blocked (a CSP without blob: workers, or a thread script that does not load) — try 1 thread' : ''}`)), timeoutMs);
    });
    ok = await Promise.race([tf.setBackend(name).then(async (r) => (await tf.ready(), r)), timeout]);
  } catch (e) {
    cause = e;
  } finally {
    clearTimeout(timer);
  }
  if (!ok || tf.getBackend() !== name) {
    const why = cause instanceof Error ? ` (${cause.message})` : '';
    if (name === 'webgpu') throw new AppError('webgpu-unavailable', `WebGPU could not be started${why}. Use the wasm backend, or a browser with WebGPU enabled.`, { cause });
    throw new AppError('unsupported', `The ${name} backend could not be started${why}.`, { cause });
  }
  // tfjs-wasm 4.22 computes float one-hot wrongly and transposed products slowly: see wasm-kernel-fixes.ts.
  if (name === 'wasm') {
    useWasmKernelFixes();
    if (typeof o.kernels === 'object') await useKernels(o.kernels, wasmThreadCount());
    else noKernels(o.kernels ?? 'not attached (none were given to this backend)');
  }
  return activeBackend() as ActiveBackend;
}

/** The backend tfjs is using now, or null before one was selected. */
export function activeBackend(): ActiveBackend | null {
  const name = tf.getBackend() as string | undefined;
  if (name !== 'cpu' && name !== 'wasm' && name !== 'webgpu') return null;
  if (name !== 'wasm') return { name, threads: null, simd: null, threadedBuild: null, kernels: null };
  const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
  const threadedBuild = simd && tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT');
  return { name, threads: wasmThreadCount(), simd, threadedBuild, kernels: kernelsReason() };
}

let wasmModule: typeof import('@tensorflow/tfjs-backend-wasm') | null = null;

async function registerWasm(o: BackendOptions): Promise<void> {
  wasmModule ??= await import('@tensorflow/tfjs-backend-wasm');
  if (wasmConfigured) return;
  if (!o.wasmPaths) throw new AppError('bad-input', 'The wasm backend needs the location of its .wasm files (wasmPaths).');
  wasmModule.setWasmPaths(o.wasmPaths);
  const threads = o.wasmThreads ?? 1;
  if (threads === 1) tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  else if (!o.threadedWasm) throw new AppError('bad-input', `${threads} wasm threads were asked for, but not where the threaded build's files are (threadedWasm).`);
  else await registerThreadedWasm(o.threadedWasm, threads);
  wasmConfigured = true;
}

function wasmThreadCount(): number {
  if (!wasmModule || !tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT')) return 1;
  return wasmModule.getThreadsCount();
}

async function registerWebgpu(): Promise<void> {
  const gpu = (globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu;
  if (!gpu) throw new AppError('webgpu-unavailable', 'This browser has no WebGPU (navigator.gpu is missing). Use the wasm backend.');
  await import('@tensorflow/tfjs-backend-webgpu');
}

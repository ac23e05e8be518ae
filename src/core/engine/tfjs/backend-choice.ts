/**
 * Which tfjs backend the engine runs on, and why, in words for the user. `auto` takes WebGPU only on a
 * hardware adapter: a software one (SwiftShader, or any adapter that says `isFallbackAdapter`) runs tfjs
 * kernels far slower than the wasm backend on the same CPU (≈ 0.5 vs 27 GFLOP/s for a 512² matmul here),
 * so it counts as no adapter. An explicit `webgpu` is honoured on any adapter (with a warning in the reason).
 */
import { selectBackend, type BackendOptions } from '../../backend/select.ts';
import { AppError } from '../../errors.ts';
import { gpuLabel, probeGpu, type GpuInfo, type GpuLike } from '../gpu.ts';
import type { BackendInfo, BackendName } from './api.ts';

export interface BackendDeps {
  /** tfjs-wasm's .wasm files: a folder (Node: node_modules) or one URL per file (browser: Vite `?url` assets). */
  wasmPaths: NonNullable<BackendOptions['wasmPaths']>;
  /** tfjs-wasm threads (default 1: the single-threaded SIMD build, which works under the app's CSP). */
  wasmThreads?: number | 'auto';
  /** `navigator.gpu` where there is one; null/undefined in Node. */
  gpu?: GpuLike | null;
}

/** True when a WebGPU adapter is real hardware (not a software fallback such as SwiftShader). */
export function isHardwareAdapter(gpu: GpuInfo): boolean {
  if (!gpu.available || gpu.isFallbackAdapter) return false;
  const name = `${gpu.vendor} ${gpu.architecture} ${gpu.description}`.toLowerCase();
  return !/swiftshader|llvmpipe|lavapipe|software|microsoft basic render/.test(name);
}

/** Starts the backend asked for (`auto`: see the module comment) and says what runs and why. */
export async function chooseBackend(want: 'auto' | BackendName, deps: BackendDeps): Promise<BackendInfo> {
  const options: BackendOptions = { wasmPaths: deps.wasmPaths, wasmThreads: deps.wasmThreads ?? 1 };
  const wasm = async (reason: string): Promise<BackendInfo> => {
    const active = await selectBackend('wasm', options);
    const build = active.threadedBuild ? `threaded SIMD build, ${active.threads} threads` : active.simd ? 'SIMD build, 1 thread' : 'plain build, 1 thread';
    return { backend: 'wasm', reason: `${reason} (${build})`, threads: active.threads };
  };
  switch (want) {
    case 'cpu':
      await selectBackend('cpu', options);
      return { backend: 'cpu', reason: 'cpu backend as asked (plain JavaScript: slow; for checks)', threads: null };
    case 'wasm':
      return wasm('wasm backend as asked');
    case 'webgpu': {
      const gpu = await probeGpu(deps.gpu);
      if (!gpu.available) {
        throw new AppError('webgpu-unavailable', `WebGPU was asked for, but ${gpu.reason ?? 'there is no adapter'}. Choose auto or wasm.`);
      }
      await selectBackend('webgpu', options);
      const slow = isHardwareAdapter(gpu) ? '' : ' — a software adapter: expect it to be much slower than wasm';
      return { backend: 'webgpu', reason: `webgpu as asked on ${gpuLabel(gpu)}${slow}`, threads: null };
    }
    case 'auto': {
      const gpu = await probeGpu(deps.gpu);
      if (!gpu.available) return wasm(`no WebGPU (${gpu.reason ?? 'no adapter'}): using wasm`);
      if (!isHardwareAdapter(gpu)) return wasm(`no hardware WebGPU adapter (${gpuLabel(gpu)} is software): using wasm`);
      try {
        await selectBackend('webgpu', options);
        return { backend: 'webgpu', reason: `hardware WebGPU adapter ${gpuLabel(gpu)}: using webgpu`, threads: null };
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        return wasm(`WebGPU on ${gpuLabel(gpu)} did not start (${why}): using wasm`);
      }
    }
    default:
      throw new AppError('bad-input', `Unknown tfjs backend "${String(want)}". Choose auto, webgpu, wasm or cpu.`);
  }
}

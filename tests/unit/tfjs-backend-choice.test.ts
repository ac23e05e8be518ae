/**
 * Which backend the tfjs engine picks on its own (src/core/engine/tfjs/backend-choice.ts): WebGPU on a
 * hardware adapter, wasm on a software one (SwiftShader, llvmpipe, a fallback adapter) or without WebGPU, and
 * the reason it gives the user. Adapters are plain objects in the shape of GPUAdapter; the backends started
 * are real (Node has no WebGPU, so a hardware adapter's webgpu start fails here and wasm takes over, saying so).
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { nodeWasmDir } from '../../src/cli/node-backend.ts';
import { AppError } from '../../src/core/errors.ts';
import type { AdapterLike, GpuInfo, GpuLike } from '../../src/core/engine/gpu.ts';
import { describeAdapter } from '../../src/core/engine/gpu.ts';
import { chooseBackend, isHardwareAdapter } from '../../src/core/engine/tfjs/backend-choice.ts';

function adapter(info: AdapterLike['info'], features: string[] = []): AdapterLike {
  return {
    features: { has: (f) => features.includes(f), forEach: (cb) => features.forEach(cb) },
    limits: { maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: 2 ** 27 },
    info,
  };
}

function gpuWith(a: AdapterLike | null): GpuLike {
  return { requestAdapter: async () => a };
}

const HARDWARE = adapter({ vendor: 'nvidia', architecture: 'ada', description: 'NVIDIA GeForce RTX 4070' }, ['shader-f16']);
const SWIFTSHADER = adapter({ vendor: 'google', architecture: 'swiftshader', description: 'SwiftShader Device (Subzero)' });
const deps = (gpu: GpuLike | null) => ({ wasmPaths: nodeWasmDir(), gpu });

async function rejection(p: Promise<unknown>): Promise<AppError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  if (!(e instanceof AppError)) throw new Error(`expected an AppError, got ${String(e)}`);
  return e;
}

// The wasm kernel fixes replace some kernels on purpose; prod mode keeps tfjs from warning about it (as the CLI does).
beforeAll(() => tf.enableProdMode());

describe('isHardwareAdapter', () => {
  it('tells real GPUs from software renderers and fallback adapters', () => {
    const info = (a: AdapterLike): GpuInfo => describeAdapter(a);
    expect(isHardwareAdapter(info(HARDWARE))).toBe(true);
    expect(isHardwareAdapter(info(adapter({ vendor: 'apple', architecture: 'metal-3', description: '' })))).toBe(true);
    expect(isHardwareAdapter(info(SWIFTSHADER))).toBe(false);
    expect(isHardwareAdapter(info(adapter({ vendor: 'mesa', architecture: '', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' })))).toBe(false);
    expect(isHardwareAdapter(info(adapter({ vendor: 'microsoft', architecture: '', description: 'Microsoft Basic Render Driver' })))).toBe(false);
    // A hardware-sounding name that the browser itself marks as a fallback adapter.
    expect(isHardwareAdapter(info(adapter({ vendor: 'nvidia', architecture: 'ada', description: 'x', isFallbackAdapter: true })))).toBe(false);
    expect(isHardwareAdapter({ ...info(HARDWARE), available: false })).toBe(false);
  });
});

describe('chooseBackend', () => {
  it('auto without WebGPU runs wasm and says there is no WebGPU', async () => {
    const none = await chooseBackend('auto', deps(null));
    expect(none.backend).toBe('wasm');
    expect(none.reason).toMatch(/^no WebGPU \(navigator\.gpu is missing.*\): using wasm \(SIMD build, 1 thread\)$/);
    expect(tf.getBackend()).toBe('wasm');
    const noAdapter = await chooseBackend('auto', deps(gpuWith(null)));
    expect(noAdapter.reason).toMatch(/^no WebGPU \(the browser offered no WebGPU adapter.*\): using wasm/);
  });

  it('auto on a software adapter runs wasm and names the adapter as software', async () => {
    const r = await chooseBackend('auto', deps(gpuWith(SWIFTSHADER)));
    expect(r.backend).toBe('wasm');
    expect(r.reason).toMatch(/^no hardware WebGPU adapter \(SwiftShader Device \(Subzero\) is software\): using wasm/);
  });

  it('auto on a hardware adapter tries WebGPU first; when it cannot start (no WebGPU in Node) wasm runs, saying why', async () => {
    const r = await chooseBackend('auto', deps(gpuWith(HARDWARE)));
    expect(r.backend).toBe('wasm');
    expect(r.reason).toMatch(/^WebGPU on NVIDIA GeForce RTX 4070 did not start \(.*navigator\.gpu is missing.*\): using wasm/);
    expect(tf.getBackend()).toBe('wasm');
  });

  it('honours an explicit choice, and refuses webgpu without an adapter and unknown names', async () => {
    expect((await chooseBackend('wasm', deps(gpuWith(HARDWARE)))).reason).toMatch(/^wasm backend as asked/);
    const cpu = await chooseBackend('cpu', deps(null));
    expect(cpu).toMatchObject({ backend: 'cpu', threads: null });
    expect(tf.getBackend()).toBe('cpu');
    const noGpu = await rejection(chooseBackend('webgpu', deps(null)));
    expect(noGpu.code).toBe('webgpu-unavailable');
    expect(noGpu.message).toMatch(/WebGPU was asked for, but navigator\.gpu is missing.*Choose auto or wasm/);
    const bogus = await rejection(chooseBackend('tpu' as 'wasm', deps(null)));
    expect(bogus.code).toBe('bad-input');
    expect(bogus.message).toMatch(/Unknown tfjs backend "tpu"/);
  });
});

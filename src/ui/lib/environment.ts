/**
 * What this browser offers the app: WebGPU (adapter, features, limits), cross-origin isolation (needed for
 * tfjs-wasm threads), CPU threads. Read once for the settings page.
 */

export interface GpuReport {
  available: boolean;
  /** Why there is no adapter, for a person. */
  problem: string | null;
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  features: string[];
  shaderF16: boolean;
  maxBufferSize: number | null;
  maxStorageBufferBindingSize: number | null;
}

export interface EnvironmentReport {
  gpu: GpuReport;
  crossOriginIsolated: boolean;
  hardwareConcurrency: number | null;
  userAgent: string;
}

const noGpu = (problem: string): GpuReport => ({
  available: false,
  problem,
  vendor: '',
  architecture: '',
  device: '',
  description: '',
  features: [],
  shaderF16: false,
  maxBufferSize: null,
  maxStorageBufferBindingSize: null,
});

export async function probeWebGpu(nav: Navigator = navigator): Promise<GpuReport> {
  if (!('gpu' in nav) || !nav.gpu) {
    return noGpu('This browser has no WebGPU (navigator.gpu is missing). Use a recent Chrome or Edge; the wasm engine still works.');
  }
  let adapter: GPUAdapter | null;
  try {
    adapter = await nav.gpu.requestAdapter();
  } catch (e) {
    return noGpu(`Asking for a WebGPU adapter failed: ${e instanceof Error ? e.message : String(e)}.`);
  }
  if (!adapter) return noGpu('WebGPU is present but offered no adapter (the GPU may be blocked or disabled).');
  const features = [...adapter.features].map(String).sort();
  const info = adapter.info;
  return {
    available: true,
    problem: null,
    vendor: info?.vendor ?? '',
    architecture: info?.architecture ?? '',
    device: info?.device ?? '',
    description: info?.description ?? '',
    features,
    shaderF16: adapter.features.has('shader-f16'),
    maxBufferSize: adapter.limits.maxBufferSize ?? null,
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize ?? null,
  };
}

export async function probeEnvironment(): Promise<EnvironmentReport> {
  return {
    gpu: await probeWebGpu(),
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    hardwareConcurrency: typeof navigator.hardwareConcurrency === 'number' ? navigator.hardwareConcurrency : null,
    userAgent: navigator.userAgent,
  };
}

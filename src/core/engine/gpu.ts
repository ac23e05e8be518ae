/**
 * What the WebGPU adapter can do, as plain data (it crosses the worker boundary and feeds the catalog's
 * variant choice). `probeGpu` takes the `navigator.gpu` object as an argument so that core code never reaches
 * for browser globals itself, and tests can hand it a fake adapter.
 */

export interface GpuInfo {
  available: boolean;
  /** Why WebGPU cannot be used, for a person; null when available. */
  reason: string | null;
  /** Adapter features, e.g. 'shader-f16'. */
  features: string[];
  vendor: string;
  architecture: string;
  description: string;
  /** A software adapter (e.g. SwiftShader): works, but slowly. */
  isFallbackAdapter: boolean;
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

/** The parts of `GPUAdapter` read here (structural, so tests can pass a plain object). */
export interface AdapterLike {
  features: { has(feature: string): boolean; forEach(cb: (feature: string) => void): void };
  limits: { maxBufferSize: number; maxStorageBufferBindingSize: number };
  info?: { vendor?: string; architecture?: string; description?: string; isFallbackAdapter?: boolean };
  /** Older Chromium builds expose this on the adapter instead of `info`. */
  isFallbackAdapter?: boolean;
}

/** The parts of `navigator.gpu` used here. */
export interface GpuLike {
  requestAdapter(options?: { powerPreference?: 'low-power' | 'high-performance' }): Promise<AdapterLike | null>;
}

export function unavailableGpu(reason: string): GpuInfo {
  return {
    available: false,
    reason,
    features: [],
    vendor: '',
    architecture: '',
    description: '',
    isFallbackAdapter: false,
    maxBufferSize: 0,
    maxStorageBufferBindingSize: 0,
  };
}

export function describeAdapter(adapter: AdapterLike): GpuInfo {
  const features: string[] = [];
  adapter.features.forEach((f) => features.push(f));
  features.sort();
  const info = adapter.info ?? {};
  return {
    available: true,
    reason: null,
    features,
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    description: info.description ?? '',
    isFallbackAdapter: info.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false,
    maxBufferSize: adapter.limits.maxBufferSize,
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
  };
}

/** Asks `gpu` (pass `navigator.gpu`, which may be undefined) for an adapter and describes it. Never throws. */
export async function probeGpu(gpu: GpuLike | undefined | null): Promise<GpuInfo> {
  if (!gpu) return unavailableGpu('navigator.gpu is missing: this browser or context has no WebGPU');
  let adapter: AdapterLike | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    return unavailableGpu(`requesting a WebGPU adapter failed: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!adapter) {
    return unavailableGpu('the browser offered no WebGPU adapter (the GPU may be blocklisted or acceleration off)');
  }
  return describeAdapter(adapter);
}

export function gpuLabel(gpu: GpuInfo): string {
  const name = gpu.description || [gpu.vendor, gpu.architecture].filter(Boolean).join(' ') || 'unknown adapter';
  return gpu.isFallbackAdapter ? `${name} (software fallback)` : name;
}

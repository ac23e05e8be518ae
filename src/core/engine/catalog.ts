/**
 * The models a person can pick: small instruct models that web-llm 0.2.86 ships prebuilt (each mapped to the
 * Hugging Face repo of the same weights, which the tfjs engine loads for training), plus models that only the
 * tfjs engine runs (the project's own toy model).
 *
 * Ids, VRAM needs and context windows are copied from `prebuiltAppConfig.model_list` of @mlc-ai/web-llm
 * 0.2.86; tests/unit/catalog.test.ts checks every number against the installed package. They are kept here
 * as data rather than read from the package so that the page can show the catalog without loading web-llm's
 * 7 MB bundle (only the worker loads it).
 */
import { AppError } from '../errors.ts';
import type { Architecture } from '../model/types.ts';
import { gpuLabel, type GpuInfo } from './gpu.ts';

/** web-llm quantisations: q4 = 4-bit weights, q0 = unquantised; f16/f32 = activation precision. */
export type Quantization = 'q4f16_1' | 'q4f32_1' | 'q0f16' | 'q0f32';

/** Best first: smaller weights, then 16-bit activations (less memory, faster where supported). */
export const QUANTIZATION_PREFERENCE: readonly Quantization[] = ['q4f16_1', 'q4f32_1', 'q0f16', 'q0f32'];

export interface WebLlmVariant {
  quantization: Quantization;
  /** `model_id` in web-llm's prebuilt list. */
  webllmId: string;
  /** `vram_required_MB` from web-llm. */
  vramMB: number;
  /** f16 activations need the WebGPU `shader-f16` feature (web-llm does not always list it; we do). */
  needsShaderF16: boolean;
}

interface EntryBase {
  /** Our id, stable across web-llm versions: 'smollm2-360m'. */
  id: string;
  label: string;
  /** Parameter count, for sorting and display; null when only the model's own config can tell. */
  params: number | null;
  /** The tfjs architecture family; null = read from the model's config.json. */
  architecture: Architecture | null;
  /** Tokens of context the engine is built for (web-llm's prebuilt libraries use 4096); null = read from config.json. */
  contextWindow: number | null;
  /** Qwen3 models think aloud (`<think>…</think>`) unless told not to. */
  thinking: boolean;
  /** Suggested use: 'actor' models are small enough to train; 'critic' ones are larger judges. */
  role: 'actor' | 'critic';
}

/** A model web-llm runs from its prebuilt list; the tfjs engine trains `hfRepo`. */
export interface WebLlmCatalogEntry extends EntryBase {
  kind: 'webllm';
  params: number;
  architecture: Architecture;
  contextWindow: number;
  /** Hugging Face repo of the same model in safetensors, for the tfjs engine (training, adapters). */
  hfRepo: string;
  /** The repo requires accepting a licence on huggingface.co (and a token) before download. */
  gated: boolean;
  variants: WebLlmVariant[];
}

/** A model only the tfjs engine runs: no web-llm ids. */
export interface TfjsCatalogEntry extends EntryBase {
  kind: 'tfjs-only';
  /** Where the tfjs engine loads it from: a hub repo ('org/name') or a path served by the app ('/models/…'). */
  source: string;
}

export type CatalogEntry = WebLlmCatalogEntry | TfjsCatalogEntry;

function variant(quantization: Quantization, webllmId: string, vramMB: number): WebLlmVariant {
  return { quantization, webllmId, vramMB, needsShaderF16: quantization.endsWith('f16') || quantization.includes('f16_') };
}

export const CATALOG: readonly CatalogEntry[] = [
  {
    kind: 'webllm',
    id: 'smollm2-135m',
    label: 'SmolLM2 135M Instruct',
    params: 135e6,
    architecture: 'llama',
    contextWindow: 4096,
    thinking: false,
    role: 'actor',
    hfRepo: 'HuggingFaceTB/SmolLM2-135M-Instruct',
    gated: false,
    // web-llm 0.2.86 ships SmolLM2-135M unquantised only.
    variants: [
      variant('q0f16', 'SmolLM2-135M-Instruct-q0f16-MLC', 359.69),
      variant('q0f32', 'SmolLM2-135M-Instruct-q0f32-MLC', 719.38),
    ],
  },
  {
    kind: 'webllm',
    id: 'smollm2-360m',
    label: 'SmolLM2 360M Instruct',
    params: 360e6,
    architecture: 'llama',
    contextWindow: 4096,
    thinking: false,
    role: 'actor',
    hfRepo: 'HuggingFaceTB/SmolLM2-360M-Instruct',
    gated: false,
    variants: [
      variant('q4f16_1', 'SmolLM2-360M-Instruct-q4f16_1-MLC', 376.06),
      variant('q4f32_1', 'SmolLM2-360M-Instruct-q4f32_1-MLC', 579.61),
      variant('q0f16', 'SmolLM2-360M-Instruct-q0f16-MLC', 871.99),
      variant('q0f32', 'SmolLM2-360M-Instruct-q0f32-MLC', 1743.99),
    ],
  },
  {
    kind: 'webllm',
    id: 'qwen2.5-0.5b',
    label: 'Qwen2.5 0.5B Instruct',
    params: 494e6,
    architecture: 'qwen2',
    contextWindow: 4096,
    thinking: false,
    role: 'actor',
    hfRepo: 'Qwen/Qwen2.5-0.5B-Instruct',
    gated: false,
    variants: [
      variant('q4f16_1', 'Qwen2.5-0.5B-Instruct-q4f16_1-MLC', 944.62),
      variant('q4f32_1', 'Qwen2.5-0.5B-Instruct-q4f32_1-MLC', 1060.2),
      variant('q0f16', 'Qwen2.5-0.5B-Instruct-q0f16-MLC', 1624.12),
      variant('q0f32', 'Qwen2.5-0.5B-Instruct-q0f32-MLC', 2654.75),
    ],
  },
  {
    kind: 'webllm',
    id: 'qwen3-0.6b',
    label: 'Qwen3 0.6B',
    params: 596e6,
    architecture: 'qwen3',
    contextWindow: 4096,
    thinking: true,
    role: 'actor',
    hfRepo: 'Qwen/Qwen3-0.6B',
    gated: false,
    variants: [
      variant('q4f16_1', 'Qwen3-0.6B-q4f16_1-MLC', 1403.34),
      variant('q4f32_1', 'Qwen3-0.6B-q4f32_1-MLC', 1924.98),
      variant('q0f16', 'Qwen3-0.6B-q0f16-MLC', 2220.38),
      variant('q0f32', 'Qwen3-0.6B-q0f32-MLC', 3843.25),
    ],
  },
  {
    kind: 'webllm',
    id: 'llama-3.2-1b',
    label: 'Llama 3.2 1B Instruct',
    params: 1.24e9,
    architecture: 'llama',
    contextWindow: 4096,
    thinking: false,
    role: 'actor',
    hfRepo: 'meta-llama/Llama-3.2-1B-Instruct',
    gated: true,
    variants: [
      variant('q4f16_1', 'Llama-3.2-1B-Instruct-q4f16_1-MLC', 879.04),
      variant('q4f32_1', 'Llama-3.2-1B-Instruct-q4f32_1-MLC', 1128.82),
      variant('q0f16', 'Llama-3.2-1B-Instruct-q0f16-MLC', 2573.13),
      variant('q0f32', 'Llama-3.2-1B-Instruct-q0f32-MLC', 5106.26),
    ],
  },
  {
    kind: 'webllm',
    id: 'qwen2.5-1.5b',
    label: 'Qwen2.5 1.5B Instruct',
    params: 1.54e9,
    architecture: 'qwen2',
    contextWindow: 4096,
    thinking: false,
    role: 'actor',
    hfRepo: 'Qwen/Qwen2.5-1.5B-Instruct',
    gated: false,
    variants: [
      variant('q4f16_1', 'Qwen2.5-1.5B-Instruct-q4f16_1-MLC', 1629.75),
      variant('q4f32_1', 'Qwen2.5-1.5B-Instruct-q4f32_1-MLC', 1888.97),
    ],
  },
  {
    kind: 'webllm',
    id: 'qwen3-1.7b',
    label: 'Qwen3 1.7B (critic)',
    params: 1.72e9,
    architecture: 'qwen3',
    contextWindow: 4096,
    thinking: true,
    role: 'critic',
    hfRepo: 'Qwen/Qwen3-1.7B',
    gated: false,
    variants: [
      variant('q4f16_1', 'Qwen3-1.7B-q4f16_1-MLC', 2036.66),
      variant('q4f32_1', 'Qwen3-1.7B-q4f32_1-MLC', 2635.44),
    ],
  },
  {
    kind: 'webllm',
    id: 'llama-3.2-3b',
    label: 'Llama 3.2 3B Instruct (critic)',
    params: 3.21e9,
    architecture: 'llama',
    contextWindow: 4096,
    thinking: false,
    role: 'critic',
    hfRepo: 'meta-llama/Llama-3.2-3B-Instruct',
    gated: true,
    variants: [
      variant('q4f16_1', 'Llama-3.2-3B-Instruct-q4f16_1-MLC', 2263.69),
      variant('q4f32_1', 'Llama-3.2-3B-Instruct-q4f32_1-MLC', 2951.51),
    ],
  },
  {
    // The project's own tiny model (built by `npm run toy:build` into public/models/toy-arith). It has no
    // web-llm build: only the tfjs engine runs it.
    kind: 'tfjs-only',
    id: 'toy-arith',
    label: 'Toy arithmetic model (tfjs only)',
    params: null,
    architecture: null,
    contextWindow: null,
    thinking: false,
    role: 'actor',
    source: '/models/toy-arith',
  },
];

// ---------------------------------------------------------------------------------------------------------
// Lookups

export function webllmEntries(catalog: readonly CatalogEntry[] = CATALOG): WebLlmCatalogEntry[] {
  return catalog.filter((e): e is WebLlmCatalogEntry => e.kind === 'webllm');
}

/** Finds an entry by our id or by any of its web-llm ids. */
export function findEntry(id: string, catalog: readonly CatalogEntry[] = CATALOG): CatalogEntry | undefined {
  return catalog.find((e) => e.id === id || (e.kind === 'webllm' && e.variants.some((v) => v.webllmId === id)));
}

/** Every web-llm id in the catalog. */
export function allWebLlmIds(catalog: readonly CatalogEntry[] = CATALOG): string[] {
  return webllmEntries(catalog).flatMap((e) => e.variants.map((v) => v.webllmId));
}

// ---------------------------------------------------------------------------------------------------------
// Choosing a variant for the adapter at hand

export interface VariantChoice {
  entry: WebLlmCatalogEntry;
  variant: WebLlmVariant;
  /** Why this variant, in a sentence for a person. */
  reason: string;
}

export function webGpuUnavailableError(gpu: GpuInfo): AppError {
  return new AppError(
    'webgpu-unavailable',
    `This browser has no WebGPU (${gpu.reason ?? 'no adapter'}), which the web-llm engine needs. ` +
      'Use the tfjs engine on the wasm backend, or open the page in Chrome or Edge 113+ on a desktop with ' +
      'hardware acceleration turned on.',
  );
}

/** Throws webgpu-unavailable unless the adapter is usable. */
export function assertWebGpu(gpu: GpuInfo): void {
  if (!gpu.available) throw webGpuUnavailableError(gpu);
}

export function canRun(v: WebLlmVariant, gpu: GpuInfo): boolean {
  return gpu.available && (!v.needsShaderF16 || gpu.features.includes('shader-f16'));
}

function ordered(variants: readonly WebLlmVariant[]): WebLlmVariant[] {
  return [...variants].sort(
    (a, b) => QUANTIZATION_PREFERENCE.indexOf(a.quantization) - QUANTIZATION_PREFERENCE.indexOf(b.quantization),
  );
}

/**
 * Picks the variant of `entry` to run on `gpu`: the most preferred quantisation the adapter can run (a
 * `q*f32` build when it lacks `shader-f16`), or `prefer` when given and runnable. Pure; explains the choice.
 */
export function chooseVariant(entry: WebLlmCatalogEntry, gpu: GpuInfo, prefer?: Quantization): VariantChoice {
  assertWebGpu(gpu);
  const hasF16 = gpu.features.includes('shader-f16');
  const runnable = ordered(entry.variants).filter((v) => canRun(v, gpu));
  if (prefer) {
    const wanted = entry.variants.find((v) => v.quantization === prefer);
    if (wanted && canRun(wanted, gpu)) {
      return { entry, variant: wanted, reason: `Using ${wanted.quantization} as asked (≈ ${Math.round(wanted.vramMB)} MB of GPU memory).` };
    }
    if (wanted) throw shaderF16Error(entry, wanted, gpu, runnable[0]);
  }
  const best = runnable[0];
  if (!best) {
    throw new AppError(
      'shader-f16-missing',
      `${entry.label} has only 16-bit builds, which need the WebGPU feature shader-f16 that ${gpuLabel(gpu)} lacks. ` +
        'Pick another model, or use the tfjs engine.',
    );
  }
  const mb = `≈ ${Math.round(best.vramMB)} MB of GPU memory`;
  if (best.needsShaderF16) {
    return { entry, variant: best, reason: `Picked ${best.quantization}: ${gpuLabel(gpu)} supports shader-f16, so the 16-bit build runs (${mb}).` };
  }
  const skipped = ordered(entry.variants).find((v) => v.needsShaderF16 && v.quantization.slice(0, 2) === best.quantization.slice(0, 2));
  const because = hasF16
    ? ''
    : ` because ${gpuLabel(gpu)} lacks the WebGPU feature shader-f16` +
      (skipped ? `, which the ${skipped.quantization} build needs (${Math.round(skipped.vramMB)} MB)` : '');
  // A model web-llm ships unquantised only (SmolLM2-135M): say why the pick is not the q4f32 build.
  const noQ4 = best.quantization.startsWith('q0') && !entry.variants.some((v) => v.quantization.startsWith('q4'))
    ? `; ${entry.label} has no 4-bit (q4) build, so this is its unquantised 32-bit one`
    : '';
  return { entry, variant: best, reason: `Picked ${best.quantization}${because}${noQ4}; it needs ${mb}.` };
}

function shaderF16Error(entry: WebLlmCatalogEntry, wanted: WebLlmVariant, gpu: GpuInfo, alternative: WebLlmVariant | undefined): AppError {
  const instead = alternative
    ? `Pick ${alternative.webllmId} instead (same model, ${alternative.quantization}, ≈ ${Math.round(alternative.vramMB)} MB).`
    : 'Pick another model, or use the tfjs engine.';
  return new AppError(
    'shader-f16-missing',
    `${wanted.webllmId} needs the WebGPU feature shader-f16, which ${gpuLabel(gpu)} lacks. ${instead}`,
  );
}

/**
 * Resolves what a person picked — our id ('qwen2.5-0.5b', the variant is chosen for the adapter) or an exact
 * web-llm id ('Qwen2.5-0.5B-Instruct-q4f16_1-MLC', checked against the adapter) — to a runnable variant.
 */
export function resolveWebLlmModel(id: string, gpu: GpuInfo, catalog: readonly CatalogEntry[] = CATALOG): VariantChoice {
  assertWebGpu(gpu);
  const entry = findEntry(id, catalog);
  if (!entry) {
    throw new AppError(
      'not-found',
      `"${id}" is not in the model catalog. Pick one of: ${webllmEntries(catalog).map((e) => e.id).join(', ')}.`,
    );
  }
  if (entry.kind !== 'webllm') {
    throw new AppError(
      'unsupported',
      `${entry.label} has no web-llm build; it runs only on the tfjs engine. Switch the engine to tfjs to use it.`,
    );
  }
  const exact = entry.variants.find((v) => v.webllmId === id);
  if (!exact) return chooseVariant(entry, gpu);
  if (!canRun(exact, gpu)) throw shaderF16Error(entry, exact, gpu, ordered(entry.variants).find((v) => canRun(v, gpu)));
  return { entry, variant: exact, reason: `Using ${exact.webllmId} as asked (≈ ${Math.round(exact.vramMB)} MB of GPU memory).` };
}

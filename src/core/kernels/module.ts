/**
 * Our WebAssembly SIMD kernels (kernels/decode.c, built by `npm run build:kernels`) attached to tfjs-wasm: the
 * module is instantiated with tfjs-wasm's own WebAssembly.Memory, so kernels read tfjs tensors and write
 * buffers in place by address, with no copies in or out. With tfjs-wasm's threaded build (shared memory) the
 * kernels run on a pool of helper threads of their own (pool.ts) as well as on the caller's thread.
 *
 * Environment-specific parts come from the caller (KernelFiles): where the two .wasm files are and how to
 * start a helper thread (a Web Worker in a browser, worker_threads in Node).
 */
import * as tf from '@tensorflow/tfjs';
import { AppError } from '../errors.ts';
import { HelperChoice, startHelpers, type SpawnHelper } from './pool.ts';

export interface KernelFiles {
  /** decode.wasm (tfjs-wasm memory not shared) and decode-shared.wasm (threaded build): URLs or paths. */
  plain: string;
  shared: string;
  read(location: string): Promise<ArrayBuffer | Uint8Array>;
  /** Starts one helper thread running `source` (a classic script); absent = no helper threads. */
  spawnHelper?: SpawnHelper;
}

/** The kernels' files, or in words why there are none (then generation runs on tfjs ops only). */
export type KernelSource = KernelFiles | string;

/** What a build without kernels/dist says (clang or lld were missing when it was built). */
export const KERNELS_NOT_BUILT = 'not built with this copy (npm run build:kernels needs clang and lld), so generation runs on tfjs-wasm\'s own ops';

/** The kernels' exports (decode.c); pointers are byte offsets into tfjs-wasm's memory. */
export interface KernelExports {
  srs_rmsnorm(x: number, rows: number, n: number, w: number, eps: number, out: number): void;
  srs_matmul_f32(x: number, rows: number, w: number, bias: number, y: number, inF: number, outF: number, j0: number, j1: number, accumulate: number): void;
  srs_matvec_f32(x: number, rows: number, w: number, bias: number, y: number, inF: number, outF: number, accumulate: number, partials: number): void;
  srs_matvec_reduce(partials: number, rows: number, outF: number, bias: number, y: number, accumulate: number): void;
  srs_pack_panels(w: number, inF: number, outF: number, p: number): void;
  srs_matmul_f32p(x: number, rows: number, p: number, bias: number, y: number, inF: number, outF: number, j0: number, j1: number, accumulate: number): void;
  srs_quantize_rows(x: number, rows: number, inF: number, xq: number, xs: number): void;
  srs_matmul_q8(xq: number, xs: number, rows: number, q: number, s: number, bias: number, y: number, inF: number, outF: number, j0: number, j1: number, accumulate: number): void;
  srs_rope(x: number, rows: number, heads: number, hD: number, cos: number, sin: number, scale: number): void;
  srs_silu_mul(gate: number, up: number, n: number): void;
  srs_kv_write(src: number, c: number, T: number, nKV: number, hD: number, cap: number, pos: number): void;
  srs_attention(q: number, k: number, v: number, real: number, T: number, L: number, nH: number, nKV: number, hD: number, cap: number, scores: number, out: number, j0: number, j1: number): void;
  srs_argmax(x: number, n: number): number;
  srs_add(y: number, x: number, n: number): void;
  srs_run(ctrl: number): void;
  __stack_pointer: WebAssembly.Global;
}

/** The control block's layout (decode.c: CTRL_*). */
export const CTRL = { chunks: 3, helpers: 4, kind: 5, args: 8, words: 32 } as const;
export const JOB = { matmulF32: 1, matmulQ8: 2, attention: 3, matvecF32: 4, matmulF32p: 5, matmulsF32p: 6, rowwise: 7 } as const;
/** The ops of a JOB.rowwise job (decode.c: ROWWISE_*). */
export const ROWWISE = { rmsnorm: 0, rope: 1, siluMul: 2 } as const;

const wordF32 = new Float32Array(1);
const wordI32 = new Int32Array(wordF32.buffer);
/** An f32's bits as an int32 control word (decode.c: word_f32). */
export function f32Word(v: number): number {
  wordF32[0] = v;
  return wordI32[0];
}
/** Parts of the inputs that decode's F32 matmul is split into (decode.c: KSPLIT). */
export const KSPLIT = 4;

/** Bytes of stack each instance gets (the kernels use none today; the loader gives them some anyway). */
const STACK_BYTES = 64 * 1024;

interface WasmModuleLike {
  _malloc(n: number): number;
  _free(p: number): void;
  wasmMemory?: WebAssembly.Memory;
  asm?: { memory?: WebAssembly.Memory };
}

export interface Kernels {
  readonly exports: KernelExports;
  readonly memory: WebAssembly.Memory;
  /** Threads a job runs on (the caller's plus the helpers). */
  readonly threads: number;
  /** Address of the control block (CTRL.words int32 words). */
  readonly ctrl: number;
  /** Helper threads started (threads − 1, or fewer when some failed to start). */
  readonly helpers: number;
  /** When to use them (pool.ts); null without helpers. */
  readonly helperChoice: HelperChoice | null;
  /** Allocates n bytes in tfjs-wasm's heap (wasm SIMD loads need no alignment); free with `free`. */
  malloc(n: number): number;
  free(p: number): void;
  f32(ptr: number, n: number): Float32Array;
  i32(ptr: number, n: number): Int32Array;
  u8(ptr: number, n: number): Uint8Array;
}

let attached: { kernels: Kernels | null; reason: string } = { kernels: null, reason: 'the wasm kernels are not loaded (the backend is not wasm yet)' };
let enabled = true;

/** The kernels attached to the running wasm backend, or null (then `kernelsReason()` says why). */
export function activeKernels(): Kernels | null {
  return enabled && attached.kernels && tf.getBackend() === 'wasm' ? attached.kernels : null;
}

export function kernelsReason(): string {
  return enabled ? attached.reason : 'the wasm kernels are turned off';
}

/** Runs on the tfjs path (false) or on the kernels when attached (true, the default): for checks and benches. */
export function setKernelsEnabled(on: boolean): void {
  enabled = on;
}

/** Records why no kernels are attached to the wasm backend just started (kernels already attached stay). */
export function noKernels(reason: string): void {
  if (!attached.kernels) attached = { kernels: null, reason };
}

/** Attaches the kernels to the wasm backend that was just started; on failure records why and returns null. */
export async function attachKernels(files: KernelFiles, threads: number): Promise<Kernels | null> {
  if (attached.kernels) return attached.kernels;
  try {
    const backend = tf.backend() as unknown as { wasm?: WasmModuleLike };
    const wasm = backend.wasm;
    const memory = wasm?.wasmMemory ?? wasm?.asm?.memory;
    if (!wasm || !memory) throw new AppError('unsupported', 'tfjs-wasm does not expose its memory');
    const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
    const location = shared ? files.shared : files.plain;
    const module = await WebAssembly.compile((await files.read(location)) as BufferSource);
    const instance = await WebAssembly.instantiate(module, { env: { memory } });
    const exports = instance.exports as unknown as KernelExports;
    const malloc = (n: number): number => {
      const p = wasm._malloc(Math.max(16, n));
      if (!p) throw new AppError('quota-exceeded', `Could not allocate ${n} bytes in the wasm heap.`);
      return p;
    };
    const stackTop = () => (malloc(STACK_BYTES) + STACK_BYTES) & ~15;
    exports.__stack_pointer.value = stackTop();
    const ctrl = malloc(CTRL.words * 4);
    new Int32Array(memory.buffer, ctrl, CTRL.words).fill(0);
    let helpers = 0;
    if (shared && threads > 1 && files.spawnHelper) {
      helpers = await startHelpers(files.spawnHelper, threads - 1, { module, memory, ctrl, stackTop });
      new Int32Array(memory.buffer, ctrl, CTRL.words)[CTRL.helpers] = helpers;
    }
    const kernels: Kernels = {
      exports,
      memory,
      threads: 1 + helpers,
      ctrl,
      helpers,
      helperChoice: helpers > 0 ? new HelperChoice() : null,
      malloc,
      free: (p) => wasm._free(p),
      f32: (p, n) => new Float32Array(memory.buffer, p, n),
      i32: (p, n) => new Int32Array(memory.buffer, p, n),
      u8: (p, n) => new Uint8Array(memory.buffer, p, n),
    };
    attached = { kernels, reason: `loaded (${kernels.threads} thread${kernels.threads === 1 ? '' : 's'})` };
    return kernels;
  } catch (e) {
    attached = { kernels: null, reason: `the wasm kernels could not be loaded: ${e instanceof Error ? e.message : String(e)}` };
    return null;
  }
}

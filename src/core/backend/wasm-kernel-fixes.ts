/**
 * Two fixes for tfjs-backend-wasm 4.22 kernels, installed by `selectBackend` whenever wasm is selected
 * (first found by the toy-model engineer while training on wasm). `useWasmKernelFixes()` wraps the registered
 * wasm kernels; it changes nothing on other backends and is idempotent.
 *
 * 1. OneHot gives WRONG VALUES for a float dtype: the C kernel writes the integer on/off values into the
 *    float32 buffer, so `tf.oneHot(i, depth, 1, 0, 'float32')` holds 1.4e-45 (the bit pattern of int 1)
 *    where it should hold 1. The causal-LM loss builds its gradient (softmax − one-hot) that way, so on wasm
 *    every gradient through the loss was wrong (cpu is right). Fixed by running the kernel in int32 and
 *    casting to the asked dtype (on/off values are whole numbers in every use here; others are refused).
 *
 * 2. BatchMatMul goes through XNNPACK only for an untransposed product with batch 1; with transposeA or
 *    transposeB it falls back to a plain loop, about ten times slower (measured in Node, single-threaded SIMD:
 *    [1024,576]·[576,576] 19.5 ms plain, 222 ms with transposeB, 19.1 ms as explicit transpose + plain).
 *    Every backward pass of a 2-D matmul is such a product (dX = dY·Wᵀ, dW = Xᵀ·dY). Fixed by transposing
 *    the operand explicitly (the Transpose kernel) and multiplying untransposed. Batched products (batch > 1)
 *    run on the plain loop either way, and there the extra transpose only costs (measured: [12,256,64]·
 *    [12,64,256] 35.4 ms with transposeB, 40.7 ms with the rewrite; a decode step's short tail 0.04 vs
 *    0.10 ms), so the rewrite applies only when both operands have batch 1.
 *
 * 3. Slice, Unpack and SplitV copy the WHOLE input out of the wasm heap (`readSync`) for every output: an
 *    unstack into n pieces copies the input n times (attention's per-head split of [12, 768, 64] took ~15 ms
 *    where one pass takes well under 1; a training step of a 30-layer model makes hundreds). Replaced by
 *    copies straight between heap views, made after every output is allocated (an allocation may grow the
 *    heap and detach earlier views). String tensors keep the original kernels.
 *
 * 4. Identity and Cast to the same dtype COPY their input, where tfjs-cpu shares it. tfjs clones every tensor it
 *    saves for a backward pass (Identity), and the gradient of a product casts its other factor to float32, so
 *    on wasm each saved activation existed twice: one decoder layer of SmolLM2-135M at 1,024 tokens kept
 *    ~250 MB for its backward pass, and 30 layers did not fit in wasm's 4 GB. Both now share the data (with a
 *    reference count, as Reshape already does); no wasm kernel writes into its inputs.
 */
import * as tf from '@tensorflow/tfjs';

interface TensorInfoLike {
  dataId: object;
  shape: number[];
  dtype: string;
}

interface DisposingBackend {
  disposeData(dataId: object): boolean;
}

type KernelArgs = Parameters<tf.KernelConfig['kernelFunc']>[0];

let installed = false;

/** Product of the leading (batch) dimensions of a matmul operand. */
function batchOf(shape: readonly number[]): number {
  let n = 1;
  for (let i = 0; i < shape.length - 2; i++) n *= shape[i];
  return n;
}

/** Installs both wrappers. Returns false (and changes nothing) when tfjs-wasm is not registered. */
export function useWasmKernelFixes(): boolean {
  if (installed) return true;
  const matMul = tf.getKernel('BatchMatMul', 'wasm');
  const oneHot = tf.getKernel('OneHot', 'wasm');
  const transpose = tf.getKernel('Transpose', 'wasm');
  const cast = tf.getKernel('Cast', 'wasm');
  if (!matMul || !oneHot || !transpose || !cast) return false;
  const dispose = (backend: object, t: TensorInfoLike) => void (backend as DisposingBackend).disposeData(t.dataId);

  const swapLastTwo = (x: TensorInfoLike, backend: object): TensorInfoLike => {
    const rank = x.shape.length;
    const perm = Array.from({ length: rank }, (_, i) => i);
    perm[rank - 2] = rank - 1;
    perm[rank - 1] = rank - 2;
    return transpose.kernelFunc({ inputs: { x } as unknown as tf.NamedTensorInfoMap, backend, attrs: { perm } }) as TensorInfoLike;
  };
  tf.registerKernel({
    ...matMul,
    kernelFunc: (args: KernelArgs) => {
      const attrs = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean };
      if (!attrs.transposeA && !attrs.transposeB) return matMul.kernelFunc(args);
      const inputs = args.inputs as unknown as { a: TensorInfoLike; b: TensorInfoLike };
      if (batchOf(inputs.a.shape) !== 1 || batchOf(inputs.b.shape) !== 1) return matMul.kernelFunc(args);
      const a = attrs.transposeA ? swapLastTwo(inputs.a, args.backend) : inputs.a;
      const b = attrs.transposeB ? swapLastTwo(inputs.b, args.backend) : inputs.b;
      try {
        return matMul.kernelFunc({
          inputs: { a, b } as unknown as tf.NamedTensorInfoMap,
          backend: args.backend,
          attrs: { ...args.attrs, transposeA: false, transposeB: false },
        });
      } finally {
        if (a !== inputs.a) dispose(args.backend, a);
        if (b !== inputs.b) dispose(args.backend, b);
      }
    },
  });

  tf.registerKernel({
    ...oneHot,
    kernelFunc: (args: KernelArgs) => {
      const attrs = (args.attrs ?? {}) as { dtype?: string; onValue?: number; offValue?: number };
      if (attrs.dtype === 'int32' || attrs.dtype === undefined) return oneHot.kernelFunc(args);
      const { onValue = 1, offValue = 0 } = attrs;
      if (!Number.isInteger(onValue) || !Number.isInteger(offValue)) {
        throw new Error(`tfjs-wasm oneHot cannot write the fractional values ${onValue}/${offValue}; use 1/0 and scale.`);
      }
      const ints = oneHot.kernelFunc({ ...args, attrs: { ...args.attrs, dtype: 'int32' } }) as TensorInfoLike;
      try {
        return cast.kernelFunc({ inputs: { x: ints } as unknown as tf.NamedTensorInfoMap, backend: args.backend, attrs: { dtype: attrs.dtype } });
      } finally {
        dispose(args.backend, ints);
      }
    },
  });
  installSliceFixes();
  installSharingFixes();
  installed = true;
  return true;
}

// ---------------------------------------------------------------------------------------------------------
// Fix 3: slicing without copying the whole input

interface HeapBackend {
  makeOutput(shape: number[], dtype: string): TensorInfoLike;
  typedArrayFromHeap(t: TensorInfoLike): Float32Array | Int32Array | Uint8Array;
}

function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d];
  }
  return strides;
}

/** Copies the box [begin, begin + size) of `src` (row-major, `shape`) into `dst` from `dstOffset`. */
export function copyBox(
  src: ArrayLike<number> & { subarray(a: number, b: number): ArrayLike<number> },
  shape: readonly number[],
  begin: readonly number[],
  size: readonly number[],
  dst: { set(a: ArrayLike<number>, offset: number): void },
  dstOffset = 0,
): void {
  const rank = shape.length;
  if (rank === 0) return dst.set(src.subarray(0, 1), dstOffset);
  const strides = stridesOf(shape);
  // Trailing dimensions taken whole merge into one contiguous run.
  let k = rank - 1;
  while (k > 0 && begin[k] === 0 && size[k] === shape[k]) k--;
  const run = size[k] * strides[k];
  const idx = new Array<number>(k).fill(0);
  let outer = 1;
  for (let d = 0; d < k; d++) outer *= size[d];
  let o = dstOffset;
  for (let n = 0; n < outer; n++) {
    let at = begin[k] * strides[k];
    for (let d = 0; d < k; d++) at += (begin[d] + idx[d]) * strides[d];
    dst.set(src.subarray(at, at + run), o);
    o += run;
    for (let d = k - 1; d >= 0; d--) {
      if (++idx[d] < size[d]) break;
      idx[d] = 0;
    }
  }
}

/** Allocates every output first, then copies each box from the input's heap view. */
function sliceMany(backend: object, x: TensorInfoLike, boxes: Array<{ begin: number[]; size: number[] }>): TensorInfoLike[] {
  const b = backend as HeapBackend;
  const outs = boxes.map(({ size }) => b.makeOutput(size, x.dtype));
  const src = b.typedArrayFromHeap(x);
  boxes.forEach(({ begin, size }, i) => copyBox(src, x.shape, begin, size, b.typedArrayFromHeap(outs[i])));
  return outs;
}

function installSliceFixes(): void {
  const slice = tf.getKernel('Slice', 'wasm');
  const unpack = tf.getKernel('Unpack', 'wasm');
  const splitV = tf.getKernel('SplitV', 'wasm');
  const empty = (shape: readonly number[]) => shape.some((d) => d === 0);
  if (slice) {
    tf.registerKernel({
      ...slice,
      kernelFunc: (args: KernelArgs) => {
        const x = (args.inputs as unknown as { x: TensorInfoLike }).x;
        const attrs = args.attrs as unknown as { begin: number | number[]; size?: number | number[] };
        if (x.dtype === 'string') return slice.kernelFunc(args);
        const [begin, size] = tf.slice_util.parseSliceParams(x as unknown as tf.TensorInfo, attrs.begin, attrs.size);
        if (empty(size) || empty(x.shape)) return slice.kernelFunc(args);
        return sliceMany(args.backend, x, [{ begin, size }])[0] as unknown as tf.TensorInfo;
      },
    });
  }
  if (unpack) {
    tf.registerKernel({
      ...unpack,
      kernelFunc: (args: KernelArgs) => {
        const x = (args.inputs as unknown as { value: TensorInfoLike }).value;
        if (x.dtype === 'string' || empty(x.shape)) return unpack.kernelFunc(args);
        let axis = (args.attrs as unknown as { axis: number }).axis;
        if (axis < 0) axis += x.shape.length;
        const boxes = Array.from({ length: x.shape[axis] }, (_, i) => {
          const begin = x.shape.map(() => 0);
          begin[axis] = i;
          const size = [...x.shape];
          size[axis] = 1;
          return { begin, size };
        });
        const outShape = x.shape.filter((_, d) => d !== axis);
        return sliceMany(args.backend, x, boxes).map((o) => ({ ...o, shape: outShape })) as unknown as tf.TensorInfo[];
      },
    });
  }
  if (splitV) {
    tf.registerKernel({
      ...splitV,
      kernelFunc: (args: KernelArgs) => {
        const x = (args.inputs as unknown as { x: TensorInfoLike }).x;
        if (x.dtype === 'string' || empty(x.shape)) return splitV.kernelFunc(args);
        const attrs = args.attrs as unknown as { numOrSizeSplits: number | number[]; axis: number | number[] };
        const axis = tf.util.parseAxisParam(attrs.axis, x.shape)[0];
        const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, attrs.numOrSizeSplits, axis);
        if (sizes.some((n) => n === 0)) return splitV.kernelFunc(args);
        let at = 0;
        const boxes = sizes.map((n) => {
          const begin = x.shape.map(() => 0);
          begin[axis] = at;
          at += n;
          const size = [...x.shape];
          size[axis] = n;
          return { begin, size };
        });
        return sliceMany(args.backend, x, boxes) as unknown as tf.TensorInfo[];
      },
    });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Fix 4: Identity and same-dtype Cast share their input's data

interface RefCountingBackend {
  incRef(dataId: object): void;
}

function installSharingFixes(): void {
  const identity = tf.getKernel('Identity', 'wasm');
  const cast = tf.getKernel('Cast', 'wasm');
  const share = (x: TensorInfoLike, backend: object): tf.TensorInfo => {
    (backend as RefCountingBackend).incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype } as unknown as tf.TensorInfo;
  };
  if (identity) {
    tf.registerKernel({
      ...identity,
      kernelFunc: (args: KernelArgs) => {
        const x = (args.inputs as unknown as { x: TensorInfoLike }).x;
        return x.dtype === 'string' ? identity.kernelFunc(args) : share(x, args.backend);
      },
    });
  }
  if (cast) {
    tf.registerKernel({
      ...cast,
      kernelFunc: (args: KernelArgs) => {
        const x = (args.inputs as unknown as { x: TensorInfoLike }).x;
        const dtype = (args.attrs as unknown as { dtype: string }).dtype;
        return x.dtype === dtype && dtype !== 'string' ? share(x, args.backend) : cast.kernelFunc(args);
      },
    });
  }
}

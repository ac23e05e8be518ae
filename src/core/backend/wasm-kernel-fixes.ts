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
  installed = true;
  return true;
}

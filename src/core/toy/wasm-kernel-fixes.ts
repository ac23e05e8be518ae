/**
 * Two fixes for tfjs-backend-wasm 4.22 kernels, found while training the toy model full-parameter on wasm.
 * `useWasmKernelFixes()` wraps the registered wasm kernels; it changes nothing on other backends and is
 * idempotent. Both fixes belong with the backend setup (src/core/backend) in the long run.
 *
 * 1. OneHot gives WRONG VALUES for a float dtype: the C kernel writes the integer on/off values into the
 *    float32 buffer, so `tf.oneHot(i, depth, 1, 0, 'float32')` holds 1.4e-45 (the bit pattern of int 1)
 *    where it should hold 1. The causal-LM loss builds its gradient (softmax − one-hot) that way, so on wasm
 *    every gradient through the loss was wrong (cpu is right). Fixed by running the kernel in int32 and
 *    casting to the asked dtype (on/off values are whole numbers in every use here; others are refused).
 *
 * 2. BatchMatMul is about ten times slower with transposeA/transposeB: those go down a plain loop instead of
 *    XNNPACK (measured here: [1024,128]·[128,352] in 3 ms, the same product with transposeB in 30 ms). Every
 *    backward pass of a matmul is such a product (dX = dY·Wᵀ, dW = Xᵀ·dY). Fixed by transposing the operand
 *    explicitly first (the Transpose kernel, about 1 ms for [1024,128]) and multiplying untransposed: the same
 *    products, only the order of summation inside XNNPACK may differ. Full-parameter training of the toy
 *    model went from 1.7 s to 0.38 s per 1,024-token step.
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

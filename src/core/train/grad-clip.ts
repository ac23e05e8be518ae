/**
 * Gradient-norm clipping over all parameters together, as torch.nn.utils.clip_grad_norm_:
 * norm = √(Σ ‖g‖²); every gradient is multiplied by min(1, maxNorm / (norm + 1e-6)).
 */
import * as tf from '@tensorflow/tfjs';

/** The global L2 norm of a set of tensors (scalar). */
export function globalNorm(tensors: Iterable<tf.Tensor>): tf.Scalar {
  return tf.tidy(() => {
    let total: tf.Scalar = tf.scalar(0);
    for (const t of tensors) total = tf.add(total, tf.sum(tf.square(t)));
    return tf.sqrt(total);
  });
}

/**
 * New clipped gradients (the inputs are not disposed) and the norm before clipping. maxNorm ≤ 0 means no
 * clipping (the gradients are copied so the caller can dispose both sets the same way).
 */
export function clipByGlobalNorm(grads: ReadonlyMap<string, tf.Tensor>, maxNorm: number): { grads: Map<string, tf.Tensor>; norm: tf.Scalar } {
  const names = [...grads.keys()];
  const { list, norm } = tf.tidy(() => {
    const total = globalNorm(grads.values());
    if (!(maxNorm > 0)) return { list: names.map((k) => tf.clone(grads.get(k)!)), norm: total };
    const coef = tf.minimum(tf.scalar(1), tf.div(tf.scalar(maxNorm), tf.add(total, tf.scalar(1e-6))));
    return { list: names.map((k) => tf.mul(grads.get(k)!, coef)), norm: total };
  });
  return { grads: new Map(names.map((k, i) => [k, list[i]])), norm };
}

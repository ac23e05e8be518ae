/**
 * LoRA gradients with gradient checkpointing: the forward pass keeps only each layer's input [N, H]; the
 * backward pass goes down the layers, running each one again under a gradient tape to get the gradient of its
 * input and of its LoRA tensors. Activation memory is one layer's instead of all layers' (SmolLM2-135M at
 * 1,024 tokens: ~300 MB per layer on tfjs-wasm, so 30 layers would not fit in wasm's 4 GB), for one more
 * forward pass of the layers.
 *
 *   x₀ = embed(ids);  xₗ₊₁ = layerₗ(xₗ)                      (no tape; x₀ … x_L kept)
 *   loss, g_L = value and gradient of headLoss(norm(x_L))   (tape over the head only)
 *   for ℓ = L−1 … 0:  gₗ, ∂A, ∂B = ∇ Σ layerₗ(xₗ; A, B) ⊙ gₗ₊₁   (tape over one layer)
 */
import * as tf from '@tensorflow/tfjs';
import { layerLoraLinears } from '../lora/linear.ts';
import type { LoraWeights } from '../lora/types.ts';
import { layerPass, type LlamaModel } from '../model/llama.ts';
import { PROJECTIONS, modulePath, type Projection } from '../model/types.ts';

export interface CheckpointedResult {
  value: tf.Scalar;
  /** Gradient of every LoRA tensor, by module path. */
  grads: Map<string, { a: tf.Tensor; b: tf.Tensor }>;
}

/**
 * `headLoss` maps the final hidden states [B, T, H] to the scalar loss (it may close over anything frozen).
 * Nothing is recorded on an enclosing tape: call it instead of tf.variableGrads.
 */
export function checkpointedLoraGrads(
  model: LlamaModel,
  inputIds: tf.Tensor2D,
  lora: LoraWeights,
  opts: { training?: { dropoutSeed: number } | null; attentionMask?: ReadonlyArray<ArrayLike<number>> | null },
  headLoss: (hidden: tf.Tensor3D) => tf.Scalar,
): CheckpointedResult {
  const L = model.config.numLayers;
  const pass = layerPass(model, inputIds, { attentionMask: opts.attentionMask });
  const pairsOf = (li: number): Array<{ proj: Projection; path: string; a: tf.Tensor2D; b: tf.Tensor2D }> =>
    PROJECTIONS.flatMap((proj) => {
      const path = modulePath(li, proj);
      const pair = lora.modules.get(path);
      return pair ? [{ proj, path, a: pair.a, b: pair.b }] : [];
    });
  /**
   * The layer's LoRA from these A/B tensors (arranged inside the layer, on whatever tape is recording). Dropout
   * masks are seeded per (training seed, layer, projection), so running a layer twice draws the same masks.
   */
  const prepare = (li: number, ab: tf.Tensor[]) =>
    layerLoraLinears(li, new Map(pairsOf(li).map(({ proj }, i) => [proj, [ab[2 * i] as tf.Tensor2D, ab[2 * i + 1] as tf.Tensor2D] as const])), lora.scaling, lora.config.dropout, opts.training ?? null);
  const xs: tf.Tensor2D[] = [];
  const grads = new Map<string, { a: tf.Tensor; b: tf.Tensor }>();
  try {
    xs.push(pass.embed()); // [N, H]
    for (let li = 0; li < L; li++) {
      const ab = pairsOf(li).flatMap((p) => [p.a, p.b]);
      xs.push(tf.tidy(() => pass.layer(li, xs[li], ab.length ? prepare(li, ab) : null)));
    }
    const head = tf.valueAndGrads((x: tf.Tensor) => headLoss(pass.finish(x as tf.Tensor2D)))([xs[L]]);
    let dy = head.grads[0] as tf.Tensor2D; // [N, H]
    for (let li = L - 1; li >= 0; li--) {
      const pairs = pairsOf(li);
      const ab = pairs.flatMap((p) => [p.a, p.b]);
      const x = xs[li];
      const upstream = dy;
      const needInput = li > 0; // nothing below layer 0 is trained
      if (!needInput && ab.length === 0) break;
      const f = (...inputs: tf.Tensor[]): tf.Scalar => {
        const input = needInput ? (inputs[0] as tf.Tensor2D) : x;
        const w = needInput ? inputs.slice(1) : inputs;
        return tf.sum(tf.mul(pass.layer(li, input, w.length ? prepare(li, w) : null), upstream));
      };
      const g = tf.grads(f)(needInput ? [x, ...ab] : ab);
      const wGrads = needInput ? g.slice(1) : g;
      pairs.forEach((p, i) => grads.set(p.path, { a: wGrads[2 * i], b: wGrads[2 * i + 1] }));
      dy = (needInput ? g[0] : upstream) as tf.Tensor2D;
      if (dy !== upstream) upstream.dispose();
      xs[li + 1].dispose();
    }
    dy.dispose();
    return { value: head.value, grads };
  } catch (e) {
    for (const g of grads.values()) tf.dispose([g.a, g.b]);
    throw e;
  } finally {
    for (const x of xs) if (!x.isDisposed) x.dispose();
    pass.dispose();
  }
}

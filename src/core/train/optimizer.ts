/**
 * Optimizers over named tf.Variables, written to PyTorch's update formulas (torch.optim.AdamW and SGD,
 * single-tensor path) rather than tf.train's, and with state that can be exported and restored exactly.
 */
import * as tf from '@tensorflow/tfjs';
import type { PlainTensor } from '../lora/tensor-data.ts';

export type ParamMap = ReadonlyMap<string, tf.Variable>;
export type GradMap = ReadonlyMap<string, tf.Tensor>;

export type OptimizerKind = 'adamw' | 'sgd';

/** Everything needed to continue optimizing exactly where a run stopped. */
export interface OptimizerState {
  kind: OptimizerKind;
  /** Hyper-parameters the state was made with (restoring into different ones is refused). */
  hyper: Record<string, number | boolean>;
  /** Per parameter: updates applied so far (torch keeps `step` per parameter). */
  steps: Record<string, number>;
  /** Slot tensors keyed `<param>.<slot>`, e.g. `w.exp_avg`, `w.exp_avg_sq`, `w.momentum_buffer`. */
  slots: Map<string, PlainTensor>;
}

export interface Optimizer {
  readonly kind: OptimizerKind;
  /**
   * One update with learning rate `lr`. Parameters without a gradient are left alone (as torch skips
   * parameters whose .grad is None). Gradients are not disposed.
   */
  apply(params: ParamMap, grads: GradMap, lr: number): void;
  exportState(): Promise<OptimizerState>;
  /** Replaces the state; the hyper-parameters must match. */
  importState(state: OptimizerState): void;
  dispose(): void;
}

/** A non-trainable variable holding `t`'s values; `t` itself is disposed. */
export function slotVariable(t: tf.Tensor): tf.Variable {
  const v = tf.variable(t, false);
  t.dispose();
  return v;
}

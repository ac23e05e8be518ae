/**
 * AdamW with decoupled weight decay, as torch.optim.AdamW (amsgrad=False, maximize=False):
 *   p ← p · (1 − lr·λ)
 *   m ← β1·m + (1 − β1)·g            v ← β2·v + (1 − β2)·g²
 *   p ← p − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε)
 * with t the parameter's own step count. Defaults are Hugging Face Trainer's (β 0.9/0.999, ε 1e-8, λ 0).
 */
import * as tf from '@tensorflow/tfjs';
import { AppError } from '../errors.ts';
import type { PlainTensor } from '../lora/tensor-data.ts';
import { slotVariable, type GradMap, type Optimizer, type OptimizerState, type ParamMap } from './optimizer.ts';

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

interface Slots {
  m: tf.Variable;
  v: tf.Variable;
  step: number;
}

export class AdamW implements Optimizer {
  readonly kind = 'adamw' as const;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private slots = new Map<string, Slots>();

  constructor(options: AdamWOptions = {}) {
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
    for (const [k, x] of [['beta1', this.beta1], ['beta2', this.beta2]] as const) {
      if (!(x >= 0 && x < 1)) throw new AppError('bad-input', `AdamW ${k} must be in [0, 1), got ${x}.`);
    }
    if (!(this.eps > 0)) throw new AppError('bad-input', `AdamW epsilon must be positive, got ${this.eps}.`);
    if (!(this.weightDecay >= 0)) throw new AppError('bad-input', `Weight decay must be ≥ 0, got ${this.weightDecay}.`);
  }

  private hyper(): Record<string, number> {
    return { beta1: this.beta1, beta2: this.beta2, eps: this.eps, weightDecay: this.weightDecay };
  }

  apply(params: ParamMap, grads: GradMap, lr: number): void {
    if (!(lr >= 0) || !Number.isFinite(lr)) throw new AppError('training', `The learning rate must be a finite number ≥ 0, got ${lr}.`);
    for (const [name, p] of params) {
      const g = grads.get(name);
      if (!g) continue;
      let s = this.slots.get(name);
      if (!s) {
        s = { m: slotVariable(tf.zerosLike(p)), v: slotVariable(tf.zerosLike(p)), step: 0 };
        this.slots.set(name, s);
      }
      s.step += 1;
      const bc1 = 1 - this.beta1 ** s.step;
      const bc2Sqrt = Math.sqrt(1 - this.beta2 ** s.step);
      const stepSize = lr / bc1;
      const slot = s;
      tf.tidy(() => {
        if (this.weightDecay !== 0) p.assign(tf.mul(p, tf.scalar(1 - lr * this.weightDecay)));
        slot.m.assign(tf.add(tf.mul(slot.m, tf.scalar(this.beta1)), tf.mul(g, tf.scalar(1 - this.beta1))));
        slot.v.assign(tf.add(tf.mul(slot.v, tf.scalar(this.beta2)), tf.mul(tf.mul(g, g), tf.scalar(1 - this.beta2))));
        const denom = tf.add(tf.div(tf.sqrt(slot.v), tf.scalar(bc2Sqrt)), tf.scalar(this.eps));
        p.assign(tf.sub(p, tf.mul(tf.div(slot.m, denom), tf.scalar(stepSize))));
      });
    }
  }

  async exportState(): Promise<OptimizerState> {
    const slots = new Map<string, PlainTensor>();
    const steps: Record<string, number> = {};
    for (const [name, s] of this.slots) {
      steps[name] = s.step;
      slots.set(`${name}.exp_avg`, { shape: [...s.m.shape], data: Float32Array.from((await s.m.data()) as Float32Array) });
      slots.set(`${name}.exp_avg_sq`, { shape: [...s.v.shape], data: Float32Array.from((await s.v.data()) as Float32Array) });
    }
    return { kind: 'adamw', hyper: this.hyper(), steps, slots };
  }

  importState(state: OptimizerState): void {
    checkCompatible('adamw', this.hyper(), state);
    const next = new Map<string, Slots>();
    for (const [name, step] of Object.entries(state.steps)) {
      const m = state.slots.get(`${name}.exp_avg`);
      const v = state.slots.get(`${name}.exp_avg_sq`);
      if (!m || !v) throw new AppError('bad-input', `The optimizer state lacks the moments of "${name}"; the checkpoint is incomplete.`);
      next.set(name, { m: slotVariable(tf.tensor(m.data, m.shape)), v: slotVariable(tf.tensor(v.data, v.shape)), step });
    }
    this.dispose();
    this.slots = next;
  }

  dispose(): void {
    for (const s of this.slots.values()) {
      s.m.dispose();
      s.v.dispose();
    }
    this.slots.clear();
  }
}

/** Refuses a state made by another optimizer or with other hyper-parameters. */
export function checkCompatible(kind: string, hyper: Record<string, number | boolean>, state: OptimizerState): void {
  if (state.kind !== kind) {
    throw new AppError('bad-input', `The checkpoint holds ${state.kind} optimizer state; it cannot continue with ${kind}.`);
  }
  for (const [k, v] of Object.entries(hyper)) {
    if (state.hyper[k] !== v) {
      throw new AppError('bad-input', `The checkpoint's optimizer used ${k} = ${state.hyper[k]}, not ${v}; resume with the same setting.`);
    }
  }
}

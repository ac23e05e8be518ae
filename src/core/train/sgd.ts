/**
 * SGD as torch.optim.SGD (dampening 0): with weight decay λ (coupled, added to the gradient), momentum μ
 * and optional Nesterov momentum:
 *   g ← g + λ·p;   b ← g (first step) or μ·b + g;   g ← g + μ·b (Nesterov) or b;   p ← p − lr·g
 */
import * as tf from '@tensorflow/tfjs';
import { AppError } from '../errors.ts';
import type { PlainTensor } from '../lora/tensor-data.ts';
import { checkCompatible } from './adamw.ts';
import { slotVariable, type GradMap, type Optimizer, type OptimizerState, type ParamMap } from './optimizer.ts';

export interface SgdOptions {
  momentum?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

export class Sgd implements Optimizer {
  readonly kind = 'sgd' as const;
  readonly momentum: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
  private buffers = new Map<string, tf.Variable>();
  private steps = new Map<string, number>();

  constructor(options: SgdOptions = {}) {
    this.momentum = options.momentum ?? 0;
    this.weightDecay = options.weightDecay ?? 0;
    this.nesterov = options.nesterov ?? false;
    if (!(this.momentum >= 0 && this.momentum < 1)) throw new AppError('bad-input', `SGD momentum must be in [0, 1), got ${this.momentum}.`);
    if (!(this.weightDecay >= 0)) throw new AppError('bad-input', `Weight decay must be ≥ 0, got ${this.weightDecay}.`);
    if (this.nesterov && this.momentum === 0) throw new AppError('bad-input', 'Nesterov momentum needs a momentum > 0.');
  }

  private hyper(): Record<string, number | boolean> {
    return { momentum: this.momentum, weightDecay: this.weightDecay, nesterov: this.nesterov };
  }

  apply(params: ParamMap, grads: GradMap, lr: number): void {
    if (!(lr >= 0) || !Number.isFinite(lr)) throw new AppError('training', `The learning rate must be a finite number ≥ 0, got ${lr}.`);
    for (const [name, p] of params) {
      const grad = grads.get(name);
      if (!grad) continue;
      this.steps.set(name, (this.steps.get(name) ?? 0) + 1);
      tf.tidy(() => {
        let g: tf.Tensor = grad;
        if (this.weightDecay !== 0) g = tf.add(g, tf.mul(p, tf.scalar(this.weightDecay)));
        if (this.momentum !== 0) {
          const buf = this.buffers.get(name);
          if (!buf) {
            this.buffers.set(name, slotVariable(tf.clone(g)));
          } else {
            buf.assign(tf.add(tf.mul(buf, tf.scalar(this.momentum)), g));
          }
          const b = this.buffers.get(name)!;
          g = this.nesterov ? tf.add(g, tf.mul(b, tf.scalar(this.momentum))) : b;
        }
        p.assign(tf.sub(p, tf.mul(g, tf.scalar(lr))));
      });
    }
  }

  async exportState(): Promise<OptimizerState> {
    const slots = new Map<string, PlainTensor>();
    for (const [name, b] of this.buffers) {
      slots.set(`${name}.momentum_buffer`, { shape: [...b.shape], data: Float32Array.from((await b.data()) as Float32Array) });
    }
    return { kind: 'sgd', hyper: this.hyper(), steps: Object.fromEntries(this.steps), slots };
  }

  importState(state: OptimizerState): void {
    checkCompatible('sgd', this.hyper(), state);
    const buffers = new Map<string, tf.Variable>();
    for (const name of Object.keys(state.steps)) {
      const b = state.slots.get(`${name}.momentum_buffer`);
      if (b) buffers.set(name, slotVariable(tf.tensor(b.data, b.shape)));
      else if (this.momentum !== 0) throw new AppError('bad-input', `The optimizer state lacks the momentum of "${name}"; the checkpoint is incomplete.`);
    }
    this.dispose();
    this.buffers = buffers;
    this.steps = new Map(Object.entries(state.steps));
  }

  dispose(): void {
    for (const b of this.buffers.values()) b.dispose();
    this.buffers.clear();
  }
}

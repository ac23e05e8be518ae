import type { Tensor2D } from '@tensorflow/tfjs';
import type { Projection } from '../model/types.ts';

/** LoRA settings, mirroring PEFT's LoraConfig. */
export interface LoraConfig {
  r: number;
  /** Integer, as PEFT writes it. */
  alpha: number;
  dropout: number;
  /** rsLoRA: scaling alpha / sqrt(r) instead of alpha / r. */
  rslora: boolean;
  targetModules: Projection[];
  /** Layer indices that get adapters; null = all layers. */
  layers: number[] | null;
}

export function loraScaling(c: Pick<LoraConfig, 'r' | 'alpha' | 'rslora'>): number {
  return c.rslora ? c.alpha / Math.sqrt(c.r) : c.alpha / c.r;
}

/** One adapted projection: y = x·Wᵀ + scaling · (dropout(x)·Aᵀ)·Bᵀ. */
export interface LoraPair {
  /** [r, in] */
  a: Tensor2D;
  /** [out, r] */
  b: Tensor2D;
}

/** Adapter weights keyed by module path (`model.layers.0.self_attn.q_proj`). Tensors may be tf.Variables. */
export interface LoraWeights {
  config: LoraConfig;
  scaling: number;
  modules: Map<string, LoraPair>;
}

/**
 * Fresh LoRA parameters, initialised as PEFT does by default (init_lora_weights=True):
 * A ~ kaiming_uniform_(a=√5), which for a [r, in] weight is U(−1/√in, 1/√in), and B = 0, so a new adapter
 * leaves the model unchanged. Each module draws from its own stream, derived from (seed, module path), so
 * the same seed gives the same A whatever other modules are targeted.
 */
import * as tf from '@tensorflow/tfjs';
import { AppError } from '../errors.ts';
import { PROJECTIONS, modulePath, projectionDims, type ModelConfig } from '../model/types.ts';
import { deriveSeed, Rng } from '../random/rng.ts';
import { loraScaling, type LoraConfig, type LoraPair, type LoraWeights } from './types.ts';

/** Throws a `bad-input` AppError describing the first problem with a LoRA configuration for this model. */
export function validateLoraConfig(config: LoraConfig, model: ModelConfig): void {
  const bad = (msg: string): never => {
    throw new AppError('bad-input', msg);
  };
  if (!Number.isInteger(config.r) || config.r < 1) bad(`LoRA rank r must be a positive integer, got ${config.r}.`);
  if (!Number.isFinite(config.alpha) || config.alpha <= 0) bad(`LoRA alpha must be a positive number, got ${config.alpha}.`);
  if (!Number.isInteger(config.alpha)) {
    bad(`LoRA alpha must be an integer (PEFT stores lora_alpha as an int), got ${config.alpha}.`);
  }
  if (!(config.dropout >= 0 && config.dropout < 1)) bad(`LoRA dropout must be in [0, 1), got ${config.dropout}.`);
  if (config.targetModules.length === 0) bad('Pick at least one target module for LoRA (e.g. q_proj, v_proj).');
  for (const t of config.targetModules) {
    if (!(PROJECTIONS as readonly string[]).includes(t)) {
      bad(`Unknown LoRA target module "${t}"; choose from ${PROJECTIONS.join(', ')}.`);
    }
  }
  if (new Set(config.targetModules).size !== config.targetModules.length) bad('LoRA target modules are listed twice.');
  if (config.layers !== null) {
    if (config.layers.length === 0) bad('The LoRA layer list is empty; use null for all layers.');
    for (const l of config.layers) {
      if (!Number.isInteger(l) || l < 0 || l >= model.numLayers) {
        bad(`LoRA layer ${l} does not exist; the model has layers 0–${model.numLayers - 1}.`);
      }
    }
    if (new Set(config.layers).size !== config.layers.length) bad('A LoRA layer is listed twice.');
  }
  const minDim = Math.min(...config.targetModules.map((p) => {
    const d = projectionDims(model, p);
    return Math.min(d.inFeatures, d.outFeatures);
  }));
  if (config.r > minDim) bad(`LoRA rank ${config.r} exceeds the smallest adapted dimension (${minDim}); pick r ≤ ${minDim}.`);
}

/** Module paths a configuration adapts, in a fixed order: by layer, then in PROJECTIONS order. */
export function loraModulePaths(config: LoraConfig, model: ModelConfig): string[] {
  const layers = config.layers ? [...config.layers].sort((a, b) => a - b) : [...Array(model.numLayers).keys()];
  const paths: string[] = [];
  for (const layer of layers) {
    for (const proj of PROJECTIONS) if (config.targetModules.includes(proj)) paths.push(modulePath(layer, proj));
  }
  return paths;
}

/** New trainable LoRA weights (A and B are tf.Variables). Dispose them with `disposeLora`. */
export function initLora(config: LoraConfig, model: ModelConfig, seed: number): LoraWeights {
  validateLoraConfig(config, model);
  const modules = new Map<string, LoraPair>();
  for (const path of loraModulePaths(config, model)) {
    const proj = PROJECTIONS.find((p) => path.endsWith(`.${p}`))!;
    const { inFeatures, outFeatures } = projectionDims(model, proj);
    const bound = 1 / Math.sqrt(inFeatures);
    const rng = Rng.fromSeed(deriveSeed(seed, path));
    const aData = rng.fillUniform(new Float32Array(config.r * inFeatures), -bound, bound);
    const a = toVariable(tf.tensor2d(aData, [config.r, inFeatures])); // [r, in]
    const b = toVariable(tf.zeros<tf.Rank.R2>([outFeatures, config.r])); // [out, r]
    modules.set(path, { a, b });
  }
  return { config: { ...config, targetModules: [...config.targetModules] }, scaling: loraScaling(config), modules };
}

/** A trainable variable holding `t`'s values; `t` itself is disposed. */
export function toVariable<R extends tf.Rank>(t: tf.Tensor<R>): tf.Variable<R> {
  const v = tf.variable(t, true);
  t.dispose();
  return v;
}

/** Frees every tensor of an adapter. */
export function disposeLora(weights: LoraWeights): void {
  for (const { a, b } of weights.modules.values()) {
    a.dispose();
    b.dispose();
  }
}

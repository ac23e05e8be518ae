/** LoRA weights as the loop's named parameters: PEFT tensor names → tf.Variables. */
import * as tf from '@tensorflow/tfjs';
import { AppError } from '../errors.ts';
import { peftTensorName } from '../lora/peft-names.ts';
import type { LoraWeights } from '../lora/types.ts';

export function loraParamMap(weights: LoraWeights): Map<string, tf.Variable> {
  const out = new Map<string, tf.Variable>();
  for (const [module, { a, b }] of weights.modules) {
    for (const [which, t] of [['A', a], ['B', b]] as const) {
      if (!(t instanceof tf.Variable) || !t.trainable) {
        throw new AppError('training', `LoRA tensor ${module} ${which} is not a trainable variable; create the adapter with initLora.`);
      }
      out.set(peftTensorName(module, which), t);
    }
  }
  return out;
}

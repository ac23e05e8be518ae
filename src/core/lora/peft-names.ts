/**
 * Tensor names in PEFT's `adapter_model.safetensors`: `base_model.model.<module path>.lora_A.weight` ([r, in])
 * and `….lora_B.weight` ([out, r]), e.g. `base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight`.
 * PEFT loads with strict=False, so a misspelt key silently leaves B at zero: build every name here.
 */
import { PROJECTIONS, modulePath, type Projection } from '../model/types.ts';

export const PEFT_PREFIX = 'base_model.model.';

export function peftTensorName(module: string, which: 'A' | 'B'): string {
  return `${PEFT_PREFIX}${module}.lora_${which}.weight`;
}

/** Layer and projection of a module path such as `model.layers.3.mlp.up_proj`, or null if it is not one. */
export function parseModulePath(module: string): { layer: number; proj: Projection } | null {
  const m = /^model\.layers\.(\d+)\.(self_attn|mlp)\.([a-z_]+)$/.exec(module);
  if (!m) return null;
  const proj = m[3] as Projection;
  if (!(PROJECTIONS as readonly string[]).includes(proj)) return null;
  const layer = Number(m[1]);
  return modulePath(layer, proj) === module ? { layer, proj } : null;
}

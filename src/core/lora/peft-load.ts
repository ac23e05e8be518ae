/**
 * Loading a PEFT LoRA adapter (`adapter_config.json` + `adapter_model.safetensors`) for inference, and checking
 * an adapter against a model: every tensor must name a module the model has, with shapes that fit. PEFT itself
 * loads with strict=False and silently ignores a misnamed key; here the first bad tensor is named in an
 * AppError('adapter-mismatch') instead. The numbers, the rank and the weights' values are checked too (validate.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { AppError, throwIfAborted } from '../errors.ts';
import { readJson, type ModelSource, type OpenOptions } from '../io/model-source.ts';
import { assertFinite } from '../io/finite.ts';
import { SafetensorsFile } from '../io/safetensors.ts';
import { PROJECTIONS, modulePath, projectionDims, type ModelConfig, type Projection } from '../model/types.ts';
import { loraScaling, type LoraConfig, type LoraPair, type LoraWeights } from './types.ts';
import { ADAPTER_NON_FINITE_ADVICE, checkLoraNumbers, checkRankFits } from './validate.ts';

type Json = Record<string, unknown>;

export interface PeftConfig {
  lora: LoraConfig;
  baseModel: string | null;
}

/** Validates `adapter_config.json`. Settings this runtime would not reproduce exactly are refused. */
export function parsePeftConfig(raw: unknown): PeftConfig {
  if (!isObject(raw)) throw bad('adapter_config.json is not a JSON object');
  if (raw.peft_type !== 'LORA') unsupported(`peft_type ${JSON.stringify(raw.peft_type)} (only LORA)`);
  const { r, alpha, dropout } = checkLoraNumbers(raw, bad);
  if (raw.use_dora === true) unsupported('use_dora: true (DoRA)');
  if (raw.fan_in_fan_out === true) unsupported('fan_in_fan_out: true');
  if (raw.bias != null && raw.bias !== 'none') unsupported(`bias ${JSON.stringify(raw.bias)} (only "none")`);
  for (const key of ['rank_pattern', 'alpha_pattern']) {
    const v = raw[key];
    if (isObject(v) && Object.keys(v).length > 0) unsupported(`${key} (per-module ranks)`);
  }
  if (Array.isArray(raw.modules_to_save) && raw.modules_to_save.length > 0) unsupported('modules_to_save (fully trained extra modules)');
  let targets: Projection[];
  const tm = raw.target_modules;
  if (tm === 'all-linear') targets = [...PROJECTIONS];
  else if (Array.isArray(tm) && tm.length > 0) {
    for (const t of tm) if (!(PROJECTIONS as readonly unknown[]).includes(t)) unsupported(`target module ${JSON.stringify(t)} (supported: ${PROJECTIONS.join(', ')})`);
    targets = [...new Set(tm as Projection[])];
  } else unsupported(`target_modules ${JSON.stringify(tm)} (give a list of module names)`);
  let layers: number[] | null = null;
  const lt = raw.layers_to_transform;
  if (typeof lt === 'number') layers = [lt];
  else if (Array.isArray(lt)) {
    if (!lt.every((x) => Number.isSafeInteger(x) && (x as number) >= 0)) bad('layers_to_transform must list layer numbers');
    layers = lt as number[];
  } else if (lt != null) bad('layers_to_transform must be a layer number or a list of them');
  return {
    lora: { r, alpha, dropout, rslora: raw.use_rslora === true, targetModules: targets, layers },
    baseModel: typeof raw.base_model_name_or_path === 'string' ? raw.base_model_name_or_path : null,
  };
}

const KEY = /^base_model\.model\.(model\.layers\.(\d+)\.(self_attn|mlp)\.([a-z_]+))\.lora_([AB])(?:\.default)?\.weight$/;

/** Reads and checks an adapter; its tensors are uploaded and owned by the result (dispose with disposeLora). */
export async function loadPeftAdapter(source: ModelSource, model: ModelConfig, o: OpenOptions = {}): Promise<LoraWeights & { baseModel: string | null }> {
  const { lora: config, baseModel } = parsePeftConfig(await readJson(source, 'adapter_config.json', true, o));
  const bytes = await source.open('adapter_model.safetensors', o);
  if (!bytes) throw new AppError('not-found', `${source.label} has no adapter_model.safetensors. Only safetensors adapters can be loaded.`);
  const file = await SafetensorsFile.open(bytes);
  const shapes = new Map<string, number[]>();
  for (const name of file.names()) shapes.set(name, (file.entry(name) as { shape: number[] }).shape);
  const plan = planModules(model, config, shapes);

  const modules = new Map<string, LoraPair>();
  try {
    for (const [path, names] of plan) {
      throwIfAborted(o.signal);
      const [a, b] = [await file.read(names.a), await file.read(names.b)];
      if (a.values.dtype !== 'float32' || b.values.dtype !== 'float32') {
        throw mismatch(`${a.values.dtype !== 'float32' ? names.a : names.b} is stored as an integer type; LoRA weights must be F32, F16 or BF16`);
      }
      assertFinite(file.name, names.a, a.shape, a.values.data, ADAPTER_NON_FINITE_ADVICE);
      assertFinite(file.name, names.b, b.shape, b.values.data, ADAPTER_NON_FINITE_ADVICE);
      modules.set(path, {
        a: tf.tensor2d(a.values.data, a.shape as [number, number]),
        b: tf.tensor2d(b.values.data, b.shape as [number, number]),
      });
    }
  } catch (e) {
    for (const p of modules.values()) tf.dispose([p.a, p.b]);
    throw e;
  }
  return { config, scaling: loraScaling(config), modules, baseModel };
}

/**
 * Checks adapter tensors (PEFT names → shapes) against the model and the adapter's config, and pairs them by
 * module. Throws AppError('adapter-mismatch') naming the first bad tensor.
 */
export function planModules(model: ModelConfig, config: LoraConfig, shapes: ReadonlyMap<string, readonly number[]>): Map<string, { a: string; b: string }> {
  checkRankFits(model, config.r, config.targetModules);
  const plan = new Map<string, { a?: string; b?: string }>();
  for (const [name, shape] of shapes) {
    const m = KEY.exec(name);
    if (!m) throw mismatch(`tensor ${name} is not a LoRA weight of a decoder projection (expected base_model.model.model.layers.<i>.<self_attn|mlp>.<proj>.lora_A/B.weight)`);
    const [, path, layerText, , projText, which] = m;
    const layer = Number(layerText);
    if (layer >= model.numLayers) throw mismatch(`tensor ${name} is for layer ${layer}, but the model has ${model.numLayers} layers (0–${model.numLayers - 1})`);
    if (!(PROJECTIONS as readonly string[]).includes(projText) || modulePath(layer, projText as Projection) !== path) {
      throw mismatch(`tensor ${name} names module ${path}, which the model does not have`);
    }
    const proj = projText as Projection;
    if (!config.targetModules.includes(proj)) throw mismatch(`tensor ${name} adapts ${proj}, which target_modules in adapter_config.json does not list`);
    if (config.layers && !config.layers.includes(layer)) throw mismatch(`tensor ${name} is for layer ${layer}, which layers_to_transform excludes`);
    const { inFeatures, outFeatures } = projectionDims(model, proj);
    const want = which === 'A' ? [config.r, inFeatures] : [outFeatures, config.r];
    if (shape.length !== 2 || shape[0] !== want[0] || shape[1] !== want[1]) {
      throw mismatch(`tensor ${name} has shape [${shape.join(', ')}], but r=${config.r} on this model's ${proj} needs [${want.join(', ')}] — the adapter was trained for a different model`);
    }
    const entry = plan.get(path) ?? {};
    if (which === 'A') entry.a = name;
    else entry.b = name;
    plan.set(path, entry);
  }
  const out = new Map<string, { a: string; b: string }>();
  for (const [path, { a, b }] of plan) {
    if (!a || !b) throw mismatch(`tensor ${a ?? b} has no matching lora_${a ? 'B' : 'A'} tensor`);
    out.set(path, { a, b });
  }
  if (out.size === 0) throw mismatch('the adapter holds no LoRA tensors');
  return out;
}

/** Checks adapter weights (from a file or from training) against a model. Throws AppError('adapter-mismatch'). */
export function validateAdapter(model: ModelConfig, lora: LoraWeights): void {
  const shapes = new Map<string, number[]>();
  for (const [path, pair] of lora.modules) {
    shapes.set(`base_model.model.${path}.lora_A.weight`, pair.a.shape);
    shapes.set(`base_model.model.${path}.lora_B.weight`, pair.b.shape);
  }
  planModules(model, lora.config, shapes);
}

export function disposeLora(lora: LoraWeights): void {
  for (const p of lora.modules.values()) tf.dispose([p.a, p.b]);
}

function mismatch(problem: string): AppError {
  return new AppError('adapter-mismatch', `This adapter does not fit the model: ${problem}.`);
}

function bad(problem: string): never {
  throw new AppError('bad-input', `adapter_config.json: ${problem}. The adapter's config is damaged; export it again.`);
}

function unsupported(what: string): never {
  throw new AppError('unsupported', `unsupported: ${what} in adapter_config.json. Only plain LoRA adapters on the seven decoder projections can be loaded.`);
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

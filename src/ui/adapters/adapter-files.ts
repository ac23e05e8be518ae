/**
 * A stored adapter row ↔ its files: the PEFT pair the tfjs engine takes (`adapter_config.json` text +
 * `adapter_model.safetensors` bytes), and the export zip (PEFT files, `adapter.gguf` when stored, and a
 * model-card README.md) built with src/core/lora from the stored Blobs, without tfjs in the page.
 */
import { AppError } from '../../core/errors.ts';
import type { AdapterFiles } from '../../core/engine/tfjs/api.ts';
import { zipFiles } from '../../core/io/zip.ts';
import { modelCard, type ModelCardInfo } from '../../core/lora/model-card.ts';
import { peftAdapterConfigJson } from '../../core/lora/peft-save.ts';
import type { LoraConfig } from '../../core/lora/types.ts';
import { checkLoraNumbers } from '../../core/lora/validate.ts';
import { PROJECTIONS, type Projection } from '../../core/model/types.ts';
import type { Adapter, TrainingMetricPoint, TrainingRun } from '../../db/types.ts';
import { obj } from '../lib/stored-json.ts';

/** adapter_config.json text for a stored adapter. */
export function adapterConfigText(a: Pick<Adapter, 'config' | 'baseModelId'>): string {
  return peftAdapterConfigJson(a.config, { baseModel: a.baseModelId || 'unknown' });
}

/** The PEFT files of a stored adapter, as the tfjs engine's addAdapter takes them. */
export async function adapterFilesOf(a: Adapter): Promise<AdapterFiles> {
  return { adapterConfig: adapterConfigText(a), safetensors: new Uint8Array(await a.weights.arrayBuffer()) };
}

/**
 * The LoRA settings written in an adapter_config.json (as the trainer or PEFT wrote it). The engine checks
 * the adapter fully when it is added; this only reads what the row stores.
 */
export function loraFromPeftJson(text: string): LoraConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new AppError('bad-input', 'adapter_config.json is not valid JSON. Export the adapter again.');
  }
  const o = obj(raw);
  if (!o) throw new AppError('bad-input', 'adapter_config.json is not a JSON object.');
  if (typeof o.r !== 'number' || !Number.isInteger(o.r) || o.r < 1) throw new AppError('bad-input', `adapter_config.json: r is ${JSON.stringify(o.r)}; expected a positive whole number.`);
  // The same bounds as the engine's check (an alpha of 1e309 is Infinity, not a number to scale by).
  const { r, alpha, dropout } = checkLoraNumbers(o, (problem) => {
    throw new AppError('bad-input', `adapter_config.json: ${problem}.`);
  });
  const tm = o.target_modules;
  const targets: Projection[] =
    tm === 'all-linear' ? [...PROJECTIONS] : Array.isArray(tm) ? PROJECTIONS.filter((p) => (tm as unknown[]).includes(p)) : [];
  if (targets.length === 0) throw new AppError('bad-input', 'adapter_config.json names no target module this app supports (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj).');
  const lt = o.layers_to_transform;
  const layers = typeof lt === 'number' ? [lt] : Array.isArray(lt) ? lt.filter((x): x is number => Number.isInteger(x)) : null;
  return {
    r,
    alpha,
    dropout,
    rslora: o.use_rslora === true,
    targetModules: targets,
    layers,
  };
}

/** What the model card says about training, from the run that made the adapter (when known). */
export function cardInfo(a: Adapter, run: TrainingRun | null, metrics: readonly TrainingMetricPoint[]): Omit<ModelCardInfo, 'baseModel' | 'lora' | 'hasGguf'> {
  const cfg = obj(run?.config ?? null);
  const train = obj(cfg?.train ?? null);
  const last = metrics.length > 0 ? metrics[metrics.length - 1] : null;
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  return {
    title: a.name,
    method: cfg?.method === 'dpo' ? 'dpo' : 'sft',
    dataRows: num(cfg?.rowCount) ?? 0,
    steps: last?.step ?? 0,
    finalLoss: num(cfg?.finalLoss) ?? last?.loss ?? null,
    learningRate: num(train?.lr),
    optimizer: typeof train?.optimizer === 'string' ? train.optimizer : undefined,
    seed: num(train?.seed),
    epochs: train?.steps === null ? num(train?.epochs) : undefined,
    date: new Date(a.createdAt).toISOString().slice(0, 10),
  };
}

/** The export zip's files: adapter_config.json, adapter_model.safetensors, adapter.gguf (when stored), README.md. */
export async function adapterExportFileMap(a: Adapter, run: TrainingRun | null, metrics: readonly TrainingMetricPoint[]): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  files.set('adapter_config.json', new TextEncoder().encode(adapterConfigText(a)));
  files.set('adapter_model.safetensors', new Uint8Array(await a.weights.arrayBuffer()));
  if (a.gguf) files.set('adapter.gguf', new Uint8Array(await a.gguf.arrayBuffer()));
  const card = modelCard({ ...cardInfo(a, run, metrics), baseModel: a.baseModelId || 'unknown', lora: a.config, hasGguf: a.gguf !== null });
  files.set('README.md', new TextEncoder().encode(card));
  return files;
}

export async function adapterExportZip(a: Adapter, run: TrainingRun | null, metrics: readonly TrainingMetricPoint[]): Promise<Uint8Array<ArrayBuffer>> {
  return zipFiles(await adapterExportFileMap(a, run, metrics));
}

/** A file name for the download: the adapter's name, safe on every OS. */
export function zipFileName(a: Pick<Adapter, 'name'>): string {
  const base = a.name.replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 80) || 'adapter';
  return `${base}.zip`;
}

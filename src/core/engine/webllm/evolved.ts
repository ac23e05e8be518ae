/**
 * Evolved models: MLC builds this app made from a catalog model (the base with an adapter merged in), kept in
 * web-llm's own cache scopes so that `engine.reload(id)` finds every file there and fetches nothing:
 *
 *   webllm/config  <folder>mlc-chat-config.json
 *   webllm/model   <folder>tensor-cache.json, <folder>params_shard_<n>.bin, <folder>tokenizer.json, …
 *   webllm/wasm    nothing new: the record reuses the base model's `model_lib`, already cached with the base
 *
 * where <folder> = `<origin>/webllm-evolved/<id>/resolve/main/`, an absolute URL of this origin that no
 * server serves (web-llm keys its cache by absolute URL; see cache.ts). The list of evolved models lives in
 * a scope of our own, `studio/evolved-models`, one JSON record per model, written after all its files, so a
 * listed model is complete. A write that fails (full quota, a closed tab) removes what it wrote; nothing of
 * the base model is touched, ever.
 */
import { AppError, isQuotaExceeded, throwIfAborted } from '../../errors.ts';
import { parseTensorCache } from '../../mlc/manifest.ts';
import { CHAT_CONFIG_FILE, isMlcQuantization, TENSOR_CACHE_FILE, type MlcFileMap, type MlcQuantization } from '../../mlc/types.ts';
import { modelBaseUrl } from './cache.ts';

/** The Cache API as the evolved-model store uses it (`caches` in a page or worker satisfies it). */
export interface WritableCache {
  keys(): Promise<readonly { url: string }[]>;
  match(request: string): Promise<Response | undefined>;
  put(request: string, response: Response): Promise<void>;
  delete(request: string): Promise<boolean>;
}

export interface WritableCacheStorage {
  open(name: string): Promise<WritableCache>;
}

export const EVOLVED_REGISTRY_SCOPE = 'studio/evolved-models';
const FOLDER = 'webllm-evolved';

/** The catalog model an evolved model was made from, as web-llm's record names it. */
export interface EvolvedBase {
  webllmId: string;
  quantization: MlcQuantization;
  /** The base record's `model_lib` (absolute URL): the evolved model runs on the same compiled library. */
  modelLib: string;
}

/** What survived the merge (src/core/mlc/merge.ts and retention.ts). */
export interface EvolvedReport {
  exact: boolean;
  weightKept: number;
  /** Logit change kept on held-out rows, when it was measured. */
  logitsKept: number | null;
}

export interface EvolvedModel {
  /** The web-llm model id (`model_id` of its record). */
  webllmId: string;
  /** A name for people; rename changes only this. */
  name: string;
  base: EvolvedBase;
  /** Absolute URL of its folder in web-llm's cache (`model` of its record). */
  model: string;
  bytes: number;
  createdAt: number;
  report: EvolvedReport | null;
  /** The stored adapter (IndexedDB id) merged in, when known. */
  adapterId?: string | null;
}

/** The record fields web-llm needs for an evolved model; the rest is copied from the base's record. */
export interface EvolvedRecordRef {
  baseWebllmId: string;
  model: string;
  modelLib: string;
}

export function evolvedRecordRef(m: EvolvedModel): EvolvedRecordRef {
  return { baseWebllmId: m.base.webllmId, model: m.model, modelLib: m.base.modelLib };
}

const ID = /^[A-Za-z0-9][\w.-]{0,127}$/;

/** A fresh id for a model evolved from `baseWebllmId`: `<base>-evolved-<time>` (web-llm ids are plain text). */
export function evolvedModelId(baseWebllmId: string, now = Date.now()): string {
  return `${baseWebllmId}-evolved-${now.toString(36)}`;
}

/** The base id inside an id made by evolvedModelId, or null when `id` is not one. */
export function evolvedBaseOf(id: string): string | null {
  const m = /^(.+)-evolved-[0-9a-z]+$/.exec(id);
  return m ? m[1] : null;
}

/** The folder URL of an evolved model on this origin, as web-llm's cleanModelUrl would have it. */
export function evolvedModelUrl(origin: string, webllmId: string): string {
  return modelBaseUrl(new URL(`/${FOLDER}/${encodeURIComponent(webllmId)}/`, origin).href);
}

function registryUrl(origin: string, webllmId: string): string {
  return new URL(`/${FOLDER}/${encodeURIComponent(webllmId)}/evolved-model.json`, origin).href;
}

function scopeOf(file: string): 'webllm/config' | 'webllm/model' {
  return file === CHAT_CONFIG_FILE ? 'webllm/config' : 'webllm/model';
}

export interface RegisterOptions {
  origin: string;
  name: string;
  report?: EvolvedReport | null;
  adapterId?: string | null;
  signal?: AbortSignal;
  /** Bytes written so far, of all. */
  onProgress?: (written: number, total: number) => void;
  /** `navigator.storage.estimate`: checked before anything is written. */
  estimate?: () => Promise<{ usage?: number; quota?: number }>;
  now?: number;
}

function quotaError(total: number, base: string, cause?: unknown): AppError {
  return new AppError(
    'quota-exceeded',
    `The browser's storage is full: the evolved model needs ${(total / 2 ** 20).toFixed(1)} MB. Nothing of it was kept and ${base} is untouched. ` +
      'Delete cached models or evolved models you no longer use (Settings → Models), then merge again.',
    { cause },
  );
}

/** Checks that the files are a complete MLC folder (index, config, every shard at its size). */
function checkFiles(files: MlcFileMap, what: string): void {
  const index = files.get(TENSOR_CACHE_FILE);
  if (!index || !files.has(CHAT_CONFIG_FILE)) throw new AppError('mlc', `${what} lacks ${index ? CHAT_CONFIG_FILE : TENSOR_CACHE_FILE}; it is not an MLC model.`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(index));
  } catch (e) {
    throw new AppError('mlc', `${TENSOR_CACHE_FILE} of ${what} is not JSON.`, { cause: e });
  }
  for (const shard of parseTensorCache(parsed, what).records) {
    const bytes = files.get(shard.dataPath);
    if (!bytes || bytes.byteLength !== shard.nbytes) throw new AppError('mlc', `${what}: ${shard.dataPath} is ${bytes ? `${bytes.byteLength} bytes, not ${shard.nbytes}` : 'missing'}.`);
  }
}

/**
 * Writes an evolved model's files into web-llm's cache scopes and lists it. Returns its record. Fails with
 * `quota-exceeded` (nothing kept) when storage runs out; `bad-input` for an id that is taken or unsafe.
 */
export async function registerEvolvedModel(caches: WritableCacheStorage, base: EvolvedBase, webllmId: string, files: MlcFileMap, o: RegisterOptions): Promise<EvolvedModel> {
  if (!ID.test(webllmId) || webllmId === base.webllmId) throw new AppError('bad-input', `"${webllmId}" cannot name an evolved model: use letters, digits, ".", "_" and "-" (and not the base's id).`);
  if (!isMlcQuantization(base.quantization)) throw new AppError('bad-input', `Unknown base quantization ${JSON.stringify(base.quantization)}.`);
  const name = o.name.trim() || webllmId;
  checkFiles(files, `the evolved model ${name}`);
  const registry = await caches.open(EVOLVED_REGISTRY_SCOPE);
  if (await registry.match(registryUrl(o.origin, webllmId))) throw new AppError('bad-input', `An evolved model "${webllmId}" exists already. Pick another id or delete that one first.`);
  const model = evolvedModelUrl(o.origin, webllmId);
  const total = [...files.values()].reduce((n, b) => n + b.byteLength, 0);
  if (o.estimate) {
    const { usage, quota } = await o.estimate().catch(() => ({ usage: undefined, quota: undefined }));
    if (typeof usage === 'number' && typeof quota === 'number' && quota - usage < total) throw quotaError(total, base.webllmId);
  }
  const written: Array<{ scope: string; url: string }> = [];
  let bytes = 0;
  try {
    for (const [file, data] of files) {
      throwIfAborted(o.signal);
      const url = new URL(file, model).href;
      const scope = scopeOf(file);
      const cache = await caches.open(scope);
      written.push({ scope, url });
      await cache.put(url, new Response(new Blob([data as Uint8Array<ArrayBuffer>]), { headers: { 'Content-Type': contentType(file), 'Content-Length': String(data.byteLength) } }));
      bytes += data.byteLength;
      o.onProgress?.(bytes, total);
    }
    const record: EvolvedModel = { webllmId, name, base, model, bytes: total, createdAt: o.now ?? Date.now(), report: o.report ?? null, adapterId: o.adapterId ?? null };
    written.push({ scope: EVOLVED_REGISTRY_SCOPE, url: registryUrl(o.origin, webllmId) });
    await registry.put(registryUrl(o.origin, webllmId), new Response(JSON.stringify(record), { headers: { 'Content-Type': 'application/json' } }));
    return record;
  } catch (e) {
    for (const { scope, url } of written) await (await caches.open(scope)).delete(url).catch(() => false);
    if (isQuotaExceeded(e)) throw quotaError(total, base.webllmId, e);
    throw e;
  }
}

function contentType(file: string): string {
  return file.endsWith('.json') ? 'application/json' : 'application/octet-stream';
}

function parseRecord(raw: unknown): EvolvedModel | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const r = raw as Partial<EvolvedModel>;
  const b = r.base as Partial<EvolvedBase> | undefined;
  const ok =
    typeof r.webllmId === 'string' &&
    ID.test(r.webllmId) &&
    typeof r.name === 'string' &&
    typeof r.model === 'string' &&
    typeof r.bytes === 'number' &&
    typeof r.createdAt === 'number' &&
    typeof b === 'object' &&
    b !== null &&
    typeof b.webllmId === 'string' &&
    typeof b.modelLib === 'string' &&
    isMlcQuantization(b.quantization);
  if (!ok) return null;
  const report = r.report && typeof r.report === 'object' ? (r.report as EvolvedReport) : null;
  const adapterId = typeof r.adapterId === 'string' ? r.adapterId : null;
  return { webllmId: r.webllmId!, name: r.name!, base: { webllmId: b.webllmId!, quantization: b.quantization!, modelLib: b.modelLib! }, model: r.model!, bytes: r.bytes!, createdAt: r.createdAt!, report, adapterId };
}

/** Every evolved model in this browser, oldest first. Unreadable records are skipped. */
export async function listEvolvedModels(caches: WritableCacheStorage): Promise<EvolvedModel[]> {
  const registry = await caches.open(EVOLVED_REGISTRY_SCOPE);
  const out: EvolvedModel[] = [];
  for (const req of await registry.keys()) {
    const res = await registry.match(req.url);
    const record = res ? parseRecord(await res.json().catch(() => null)) : null;
    if (record) out.push(record);
  }
  return out.sort((a, b) => a.createdAt - b.createdAt || a.webllmId.localeCompare(b.webllmId));
}

export async function findEvolvedModel(caches: WritableCacheStorage, webllmId: string): Promise<EvolvedModel | null> {
  return (await listEvolvedModels(caches)).find((m) => m.webllmId === webllmId) ?? null;
}

function originOf(m: EvolvedModel): string {
  return new URL(m.model).origin;
}

/** The latest evolved model made from `adapterId` on top of the catalog build `baseWebllmId`, or null. */
export async function findEvolvedForAdapter(caches: WritableCacheStorage, adapterId: string, baseWebllmId: string): Promise<EvolvedModel | null> {
  const all = (await listEvolvedModels(caches)).filter((m) => m.adapterId === adapterId && m.base.webllmId === baseWebllmId);
  return all.at(-1) ?? null;
}

async function rewrite(caches: WritableCacheStorage, webllmId: string, change: (m: EvolvedModel) => EvolvedModel, what: string): Promise<EvolvedModel> {
  const m = await findEvolvedModel(caches, webllmId);
  if (!m) throw new AppError('not-found', `There is no evolved model "${webllmId}" in this browser.`);
  const next = change(m);
  const registry = await caches.open(EVOLVED_REGISTRY_SCOPE);
  try {
    await registry.put(registryUrl(originOf(m), webllmId), new Response(JSON.stringify(next), { headers: { 'Content-Type': 'application/json' } }));
  } catch (e) {
    if (isQuotaExceeded(e)) throw new AppError('quota-exceeded', `The browser's storage is full, so ${what} was not saved.`, { cause: e });
    throw e;
  }
  return next;
}

export async function renameEvolvedModel(caches: WritableCacheStorage, webllmId: string, name: string): Promise<EvolvedModel> {
  const trimmed = name.trim();
  if (!trimmed) throw new AppError('bad-input', 'An evolved model needs a name.');
  return rewrite(caches, webllmId, (m) => ({ ...m, name: trimmed.slice(0, 200) }), 'the new name');
}

/** Stores what a measurement found (logit retention) in the model's record. */
export async function updateEvolvedReport(caches: WritableCacheStorage, webllmId: string, report: EvolvedReport): Promise<EvolvedModel> {
  return rewrite(caches, webllmId, (m) => ({ ...m, report }), 'the merge report');
}

/** Deletes an evolved model's files and record (never the base's library). Returns cache entries removed. */
export async function deleteEvolvedModel(caches: WritableCacheStorage, webllmId: string): Promise<number> {
  const m = await findEvolvedModel(caches, webllmId);
  if (!m) throw new AppError('not-found', `There is no evolved model "${webllmId}" in this browser.`);
  let removed = 0;
  for (const scope of ['webllm/model', 'webllm/config'] as const) {
    const cache = await caches.open(scope);
    for (const req of await cache.keys()) if (req.url.startsWith(m.model) && (await cache.delete(req.url))) removed++;
  }
  await (await caches.open(EVOLVED_REGISTRY_SCOPE)).delete(registryUrl(originOf(m), webllmId));
  return removed;
}

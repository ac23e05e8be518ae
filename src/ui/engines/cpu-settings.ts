/**
 * The CPU engine's settings, kept in THIS browser (one row of the app-wide settings table; bundles never
 * export it): a cap on tfjs-wasm's threads (default none: every core) and the opt-in 8-bit weights. Read when
 * a tfjs engine starts; a running engine keeps what it started with.
 */
import { chooseWasmThreads, MAX_WASM_THREADS, type ThreadChoice } from '../../core/backend/threads.ts';
import { checkWeightFormat, type WeightFormat } from '../../core/kernels/load-format.ts';
import type { StudioDb } from '../../db/db.ts';
import { getSetting, setSetting } from '../../db/settings.ts';
import type { JsonValue } from '../../db/types.ts';

export const CPU_SETTING_KEY = 'engines.tfjs-cpu';

export interface CpuSettings {
  /** Most wasm threads; null = every core. */
  threadCap: number | null;
  weightFormat: WeightFormat;
}

export const DEFAULT_CPU_SETTINGS: CpuSettings = { threadCap: null, weightFormat: 'f32' };

/** The stored settings, or the defaults when none (or an unreadable row) is stored. */
export async function loadCpuSettings(db: StudioDb): Promise<CpuSettings> {
  const v = await getSetting<JsonValue>(db, CPU_SETTING_KEY, null);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return DEFAULT_CPU_SETTINGS;
  const cap = v.threadCap;
  try {
    return {
      threadCap: typeof cap === 'number' && Number.isInteger(cap) && cap >= 1 && cap <= MAX_WASM_THREADS ? cap : null,
      weightFormat: checkWeightFormat(v.weightFormat),
    };
  } catch {
    return DEFAULT_CPU_SETTINGS;
  }
}

export async function saveCpuSettings(db: StudioDb, s: CpuSettings): Promise<void> {
  await setSetting(db, CPU_SETTING_KEY, { threadCap: s.threadCap, weightFormat: s.weightFormat });
}

/** The threads a tfjs engine started now would run, and why (the same rule as the engine's worker). */
export function plannedThreads(s: CpuSettings, env: { cores: number | null; isolated: boolean }): ThreadChoice {
  return chooseWasmThreads({ ...env, cap: s.threadCap });
}

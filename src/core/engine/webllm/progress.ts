/** web-llm's load reports (`{progress, timeElapsed, text}`) as our LoadProgress. */
import type { LoadProgress } from '../types.ts';

export interface WebLlmProgressReport {
  progress: number;
  timeElapsed: number;
  text: string;
}

const MIB = 1024 * 1024;

/**
 * web-llm (0.2.86) reports, in order: "Start to fetch params", "Fetching param cache[i/n]: 12MB fetched.
 * 30% completed, …" (download), or "Loading model from cache[i/n]: 12MB loaded. …" (already cached),
 * "Loading GPU shader modules[i/n]: …" (compile), and "Finish loading on WebGPU - …".
 */
export function mapWebLlmProgress(r: WebLlmProgressReport): LoadProgress {
  const text = r.text;
  const fraction = Number.isFinite(r.progress) ? Math.min(1, Math.max(0, r.progress)) : null;
  const mb = /(\d+)\s*MB (?:fetched|loaded)/.exec(text);
  const bytesLoaded = mb ? Number(mb[1]) * MIB : null;
  let phase = 'weights';
  if (/^Start to fetch|^Fetching param cache/i.test(text)) phase = 'download';
  else if (/^Loading model from cache/i.test(text)) phase = 'cache';
  else if (/shader|compil|pipeline/i.test(text)) phase = 'compile';
  else if (/^Finish loading/i.test(text)) phase = 'ready';
  return { phase, fraction, text, bytesLoaded };
}

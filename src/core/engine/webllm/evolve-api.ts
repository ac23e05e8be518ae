/**
 * The evolve worker's API (workers/evolve.worker.ts, host in evolve-host.ts): merges a stored PEFT adapter
 * into a catalog model's MLC files read from web-llm's cache, and registers the result as an evolved model
 * (evolved.ts). It runs in a worker of its own so that merging hundreds of MB never blocks the page.
 */
import type { AdapterFiles } from '../tfjs/api.ts';
import type { EvolvedBase, EvolvedModel } from './evolved.ts';

export interface EvolveParams {
  adapter: Pick<AdapterFiles, 'adapterConfig' | 'safetensors'>;
  base: EvolvedBase;
  /** The base record's `model` URL: where web-llm cached the base's files. */
  baseModel: string;
  /** The new model's web-llm id and name. */
  webllmId: string;
  name: string;
  /** This page's origin: the evolved model's files are keyed under it. */
  origin: string;
  /** The stored adapter merged in (SELF and SRT find a round's evolved model by it). */
  adapterId?: string | null;
}

export interface EvolveProgress {
  phase: 'merge' | 'write';
  done: number;
  total: number;
}

export interface EvolveApi {
  evolve: { params: EvolveParams; result: EvolvedModel; progress: EvolveProgress };
}

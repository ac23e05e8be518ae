/**
 * Node only: the tfjs host's dependencies in Node (tfjs-wasm's .wasm files from node_modules, model folders
 * on disk, no GPU) and a one-call way to get an in-process engine and trainer:
 *
 *   const { engine, trainer } = createNodeTfjs({ modelDir: 'public/models/toy-arith' });
 *   await engine.load('toy-arith');
 *   const { adapterId } = await trainer.train({ method: 'sft', rows, fromAdapterId: null, label: 'round 1', config: trainConfig() });
 *   await engine.chat({ messages, adapterId });
 */
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { nodeKernelFiles, nodeThreadedWasm, nodeWasmDir } from '../../backend/node-wasm.ts';
import { AppError } from '../../errors.ts';
import { nodeDirSource } from '../../io/node-dir.ts';
import type { BackendName, ModelSourceSpec } from './api.ts';
import type { TfjsHostDeps } from './host.ts';
import { TfjsLocalEngine, TfjsLocalTrainer } from './local.ts';
import type { TfjsTrainerOptions } from './trainer.ts';

export function nodeTfjsHostDeps(): TfjsHostDeps {
  // tfjs-cpu prints an advert for tfjs-node on first use in Node; keep program output clean.
  tf.enableProdMode();
  return { wasmPaths: nodeWasmDir(), threadedWasm: nodeThreadedWasm, threadFacts: { cores: availableParallelism(), isolated: true }, kernels: nodeKernelFiles(), gpu: null, openDir: nodeDirSource };
}

export interface NodeTfjsOptions {
  /** A model folder (Hugging Face layout), or any source spec. */
  modelDir?: string;
  source?: ModelSourceSpec;
  /** Default wasm (the fast backend on a CPU). */
  backend?: BackendName;
  trainer?: TfjsTrainerOptions;
}

export function createNodeTfjs(o: NodeTfjsOptions): { engine: TfjsLocalEngine; trainer: TfjsLocalTrainer } {
  const source: ModelSourceSpec | undefined = o.source ?? (o.modelDir !== undefined ? { kind: 'dir', path: o.modelDir } : undefined);
  if (!source) throw new AppError('bad-input', 'createNodeTfjs needs a model: give modelDir (a folder) or source.');
  const engine = new TfjsLocalEngine({ host: nodeTfjsHostDeps(), backend: o.backend ?? 'wasm', source });
  return { engine, trainer: new TfjsLocalTrainer(engine, o.trainer) };
}

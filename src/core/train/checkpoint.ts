/**
 * Training checkpoints: the parameters, the optimizer state, the step, the number of micro-batches consumed
 * and the loop's RNG state; everything needed to continue a run so that it ends bit-identical to one that was
 * never interrupted. As files:
 *   <params file>            the parameters (for LoRA: adapter_model.safetensors with PEFT names, F32)
 *   optimizer.safetensors    optimizer slots (`<param>.exp_avg`, …)
 *   trainer_state.json       step, micro-step, RNG state, optimizer kind, hyper-parameters and steps
 */
import type * as tf from '@tensorflow/tfjs';
import { AppError } from '../errors.ts';
import { bytesSource } from '../io/byte-source.ts';
import { SafetensorsFile } from '../io/safetensors.ts';
import { writeSafetensors } from '../io/safetensors-write.ts';
import type { PlainTensor } from '../lora/tensor-data.ts';
import type { Optimizer, OptimizerKind, OptimizerState } from './optimizer.ts';
import type { Rng, RngState } from '../random/rng.ts';

export interface TrainCheckpoint {
  /** Optimizer steps done. */
  step: number;
  /** Micro-batches consumed (step × gradAccum for a run that never changed gradAccum). */
  microStep: number;
  rngState: RngState;
  params: Map<string, PlainTensor>;
  optimizer: OptimizerState;
}

export const TRAINER_STATE_FILE = 'trainer_state.json';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
export const TRAINER_STATE_FORMAT = 'self-refine-studio/trainer-state';

/** Copies the current parameter values and optimizer state (asynchronously; nothing is blocked). */
export async function captureCheckpoint(
  params: ReadonlyMap<string, tf.Variable>,
  optimizer: Optimizer,
  step: number,
  microStep: number,
  rng: Rng,
): Promise<TrainCheckpoint> {
  const plain = new Map<string, PlainTensor>();
  for (const [name, v] of params) plain.set(name, { shape: [...v.shape], data: Float32Array.from((await v.data()) as Float32Array) });
  return { step, microStep, rngState: rng.getState(), params: plain, optimizer: await optimizer.exportState() };
}

function sortedEntries<T>(m: ReadonlyMap<string, T>): Array<[string, T]> {
  return [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The checkpoint as files. */
export function checkpointToFiles(c: TrainCheckpoint, options: { paramsFile?: string } = {}): Map<string, Uint8Array> {
  const paramsFile = options.paramsFile ?? 'adapter_model.safetensors';
  const state = {
    format: TRAINER_STATE_FORMAT,
    version: 1,
    step: c.step,
    microStep: c.microStep,
    rngState: c.rngState,
    paramsFile,
    optimizer: { kind: c.optimizer.kind, hyper: c.optimizer.hyper, steps: c.optimizer.steps },
  };
  return new Map([
    [paramsFile, writeSafetensors(sortedEntries(c.params), { dtype: 'F32', metadata: { format: 'pt' } })],
    [OPTIMIZER_FILE, writeSafetensors(sortedEntries(c.optimizer.slots), { dtype: 'F32', metadata: { format: 'pt' } })],
    [TRAINER_STATE_FILE, new TextEncoder().encode(JSON.stringify(state, null, 2) + '\n')],
  ]);
}

function bad(message: string): never {
  throw new AppError('bad-input', `Cannot resume: ${message}`);
}

async function readAll(name: string, bytes: Uint8Array): Promise<Map<string, PlainTensor>> {
  const file = await SafetensorsFile.open(bytesSource(name, bytes));
  const out = new Map<string, PlainTensor>();
  for (const n of file.names()) {
    const t = await file.read(n);
    if (t.values.dtype !== 'float32') bad(`${name}: tensor "${n}" is not a float tensor.`);
    out.set(n, { shape: t.shape, data: t.values.data as Float32Array });
  }
  return out;
}

const isUint32 = (x: unknown) => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 0xffffffff;

/** Reads a checkpoint written by checkpointToFiles. Any missing or malformed part is a clear error. */
export async function checkpointFromFiles(files: ReadonlyMap<string, Uint8Array>): Promise<TrainCheckpoint> {
  const stateBytes = files.get(TRAINER_STATE_FILE);
  if (!stateBytes) bad(`${TRAINER_STATE_FILE} is missing; the folder is not a training checkpoint.`);
  let s: Record<string, unknown>;
  try {
    s = JSON.parse(new TextDecoder().decode(stateBytes)) as Record<string, unknown>;
  } catch {
    bad(`${TRAINER_STATE_FILE} is not valid JSON.`);
  }
  if (s.format !== TRAINER_STATE_FORMAT || s.version !== 1) bad(`${TRAINER_STATE_FILE} is not a version 1 trainer state of this app.`);
  const nonNeg = (k: string) => {
    const v = s[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) bad(`${TRAINER_STATE_FILE}: "${k}" must be an integer ≥ 0.`);
    return v;
  };
  const step = nonNeg('step');
  const microStep = nonNeg('microStep');
  const rng = s.rngState;
  if (!Array.isArray(rng) || rng.length !== 4 || !rng.every(isUint32)) bad(`${TRAINER_STATE_FILE}: "rngState" must be four unsigned 32-bit integers.`);
  const opt = s.optimizer as Record<string, unknown> | undefined;
  if (!opt || (opt.kind !== 'adamw' && opt.kind !== 'sgd') || typeof opt.hyper !== 'object' || typeof opt.steps !== 'object') {
    bad(`${TRAINER_STATE_FILE}: "optimizer" must have kind (adamw or sgd), hyper and steps.`);
  }
  const paramsFile = typeof s.paramsFile === 'string' ? s.paramsFile : 'adapter_model.safetensors';
  const paramBytes = files.get(paramsFile);
  if (!paramBytes) bad(`${paramsFile} is missing.`);
  const optBytes = files.get(OPTIMIZER_FILE);
  if (!optBytes) bad(`${OPTIMIZER_FILE} is missing.`);
  return {
    step,
    microStep,
    rngState: rng as RngState,
    params: await readAll(paramsFile, paramBytes),
    optimizer: {
      kind: opt.kind as OptimizerKind,
      hyper: opt.hyper as Record<string, number | boolean>,
      steps: opt.steps as Record<string, number>,
      slots: await readAll(OPTIMIZER_FILE, optBytes),
    },
  };
}

/**
 * Shared by the db-*.test.ts files: a fresh fake-indexeddb per database, a full dump for before/after
 * comparisons, an in-memory Web Locks stand-in, and a seeded experiment that fills every table.
 */
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { openStudioDb, type OpenOptions, type StudioDb } from '../../src/db/db.ts';
import { createExperiment } from '../../src/db/experiments.ts';
import { addTasks } from '../../src/db/tasks.ts';
import { executeRun, appendRunMetric, updateRunProgress } from '../../src/db/runs.ts';
import { addStep } from '../../src/db/steps.ts';
import { addSamples } from '../../src/db/samples.ts';
import { appendTrainingMetrics, executeTrainingRun } from '../../src/db/training-runs.ts';
import { addAdapter } from '../../src/db/adapters.ts';
import type { LockManagerLike } from '../../src/db/locks.ts';
import type { StepRecord } from '../../src/core/refine/types.ts';
import type { Experiment } from '../../src/db/types.ts';

let counter = 0;

/** A database of its own (own IDBFactory, so nothing is shared between tests). */
export async function freshDb(options: Omit<OpenOptions, 'deps'> & { factory?: IDBFactory } = {}): Promise<StudioDb> {
  const factory = options.factory ?? new IDBFactory();
  return openStudioDb({ ...options, name: options.name ?? `test-${++counter}`, deps: { indexedDB: factory, IDBKeyRange } });
}

/** Every table, every row, Blobs read out as byte arrays: equal dumps = identical databases. */
export async function dump(db: StudioDb): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const table of db.tables) {
    const rows = await table.toArray();
    out[table.name] = await Promise.all(rows.map(blobsToBytes));
  }
  return out;
}

async function blobsToBytes(v: unknown): Promise<unknown> {
  if (v instanceof Blob) return Array.from(new Uint8Array(await v.arrayBuffer()));
  if (Array.isArray(v)) return Promise.all(v.map(blobsToBytes));
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = await blobsToBytes(x);
    return out;
  }
  return v;
}

/**
 * Web Locks in memory: exclusive locks by name, granted in request order; the options form takes ifAvailable
 * (the callback gets null when the lock is held or queued for) and signal (gives up waiting: AbortError).
 */
export class FakeLocks implements LockManagerLike {
  private readonly tails = new Map<string, Promise<void>>();
  private readonly queued = new Map<string, number>();
  readonly held = new Set<string>();

  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
  request<T>(name: string, options: { ifAvailable?: boolean; signal?: AbortSignal }, callback: (lock: { name: string } | null) => Promise<T>): Promise<T>;
  async request<T>(
    name: string,
    a: (() => Promise<T>) | { ifAvailable?: boolean; signal?: AbortSignal },
    b?: (lock: { name: string } | null) => Promise<T>,
  ): Promise<T> {
    const options = typeof a === 'function' ? {} : a;
    const callback = typeof a === 'function' ? () => a() : b!;
    if (options.ifAvailable && (this.held.has(name) || (this.queued.get(name) ?? 0) > 0)) return callback(null);
    const before = this.tails.get(name) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    this.tails.set(name, before.then(() => mine));
    this.queued.set(name, (this.queued.get(name) ?? 0) + 1);
    try {
      await (options.signal ? Promise.race([before, aborted(options.signal)]) : before);
    } catch (e) {
      this.queued.set(name, this.queued.get(name)! - 1);
      void before.then(release); // give the place up once the holder is done
      throw e;
    }
    this.queued.set(name, this.queued.get(name)! - 1);
    this.held.add(name);
    try {
      return await callback({ name });
    } finally {
      this.held.delete(name);
      release();
    }
  }

  async query(): Promise<{ held: { name: string }[] }> {
    return { held: [...this.held].map((name) => ({ name })) };
  }
}

function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const fail = () => reject(new DOMException('The request was aborted.', 'AbortError'));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}

export function stepRecord(taskId: string, over: Partial<StepRecord> = {}): StepRecord {
  return {
    kind: 'draft',
    taskId,
    loopId: 'loop-1',
    evolutionRound: 0,
    refineRound: 0,
    text: 'The answer is 42.',
    prompt: [
      { role: 'system', content: 'You are careful.' },
      { role: 'user', content: 'What is 6 × 7?' },
    ],
    feedback: null,
    parseStatus: 'n/a',
    score: null,
    promptTokens: 12,
    completionTokens: 6,
    startedAt: 1_700_000_000_000,
    durationMs: 250.5,
    prefillTokensPerSec: 120,
    decodeTokensPerSec: 24.5,
    seed: 7,
    engine: 'openai',
    modelId: 'tiny-llama',
    adapterId: null,
    source: 'self',
    ...over,
  };
}

export const LORA = { r: 4, alpha: 8, dropout: 0.05, rslora: false, targetModules: ['q_proj', 'v_proj'], layers: null } as const;

/**
 * An experiment with rows in every table: 3 tasks (train/eval), a finished refine run with 3 steps (one
 * using the adapter), a failed batch run, 2 samples, a training run with a 3-point loss curve that made an
 * adapter (weights + GGUF). Returns the experiment.
 */
export async function seedExperiment(db: StudioDb, name = 'Arithmetic, round 1'): Promise<Experiment> {
  const locks = new FakeLocks();
  const exp = await createExperiment(db, {
    name,
    modelId: 'tiny-llama',
    engine: 'tfjs',
    settings: { sampling: { temperature: 0.7, topP: 0.9 }, stop: ['###'], maxRefineRounds: 3 },
  });
  const tasks = await addTasks(db, exp.id, [
    { prompt: 'What is 6 × 7?', reference: '42', kind: 'toy-arith', taskSetId: 'toy-arith', split: 'train' },
    { prompt: 'Write a haiku about <b>rain</b> & "snow"', kind: 'open' },
    { prompt: 'What is 12 - 5?', checker: { type: 'numeric', answer: 7, tolerance: 0 }, split: 'eval', kind: 'math' },
  ]);
  const training = await executeTrainingRun(db, locks, { experimentId: exp.id, config: { lr: 1e-3, epochs: 1 } }, async (tr) => {
    await appendTrainingMetrics(db, tr.id, [
      { step: 0, loss: 2.5, lr: 1e-3, tokensPerSec: 100 },
      { step: 1, loss: 2.1, lr: 9e-4, tokensPerSec: 110, gradNorm: 1.5 },
      { step: 2, loss: 1.9, lr: 8e-4, tokensPerSec: 105 },
    ]);
    return tr;
  });
  const adapter = await addAdapter(db, {
    experimentId: exp.id,
    name: 'round-1 adapter',
    baseModelId: 'tiny-llama',
    config: { ...LORA, targetModules: [...LORA.targetModules] },
    weights: new Blob([new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])]),
    gguf: new Blob([new Uint8Array([71, 71, 85, 70, 3, 0])]),
    trainingRunId: training.id,
  });
  const steps = await executeRun(db, locks, { experimentId: exp.id, kind: 'refine', config: { rounds: 2 } }, async (run) => {
    const draft = await addStep(db, run.id, stepRecord(tasks[0].id));
    const feedback = await addStep(
      db,
      run.id,
      stepRecord(tasks[0].id, {
        kind: 'feedback',
        text: 'Score: 9/10. <script>alert(1)</script>',
        feedback: { weaknesses: ['terse'], suggestions: ['show work'], score: 9, verdict: 'correct', noIssues: false },
        parseStatus: 'ok',
        score: 9,
      }),
    );
    const refinement = await addStep(
      db,
      run.id,
      stepRecord(tasks[0].id, { kind: 'refinement', refineRound: 1, text: '6 × 7 = 42', adapterId: adapter.id, seed: null, finishReason: 'length' }),
    );
    await updateRunProgress(db, run.id, { done: 1, total: 1 });
    await appendRunMetric(db, run.id, { round: 0, accuracy: 1, meanScore: 9 });
    return [draft, feedback, refinement];
  });
  await executeRun(db, locks, { experimentId: exp.id, kind: 'batch' }, async () => {
    throw new Error('engine crashed');
  }).catch(() => undefined);
  await addSamples(db, exp.id, [
    {
      prompt: [{ role: 'user', content: 'What is 6 × 7?' }],
      chosen: '6 × 7 = 42',
      rejected: 'The answer is 42.',
      feedback: 'show work',
      provenance: { stepIds: steps.map((s) => s.id), runId: steps[0].runId, round: 0 },
      format: 'dpo',
    },
    {
      prompt: [{ role: 'user', content: 'Haiku' }],
      chosen: 'Rain on the window',
      provenance: { stepIds: [], runId: null, round: 0 },
      included: false,
      format: 'sft',
    },
  ]);
  return exp;
}

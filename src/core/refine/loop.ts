import type { ChatResult } from '../engine/types.ts';
import { AppError, isAbort, throwIfAborted } from '../errors.ts';
import type { Task } from '../tasks/types.ts';
import { LoopDriver, type LoopResult, type LoopSettings, type PendingCall, type PreparedCall } from './loop-driver.ts';
import { explainOverflow, longestPrompt } from './overflow.ts';
import type { StepRecord } from './types.ts';

export type { LoopResult, LoopSettings, PendingCall } from './loop-driver.ts';

/**
 * The Self-Refine loop: draft → feedback → refinement, repeated until a stop rule fires (see plan.ts).
 * Every step is handed to `onStep` as soon as it completes, and the loop waits for it (the caller writes it to
 * IndexedDB in its own transaction) before going on. Aborting throws AppError('aborted'); the steps already
 * handed over stay valid, and `resumeFrom` continues from them without redoing any.
 */
export interface SelfRefineOptions extends LoopSettings {
  task: Task;
  /** Groups this loop's steps; the caller chooses it (and reuses it to resume). */
  loopId: string;
  onStep: (step: StepRecord) => Promise<void>;
  /** Streamed text of the call in progress. */
  onToken?: (delta: string, call: PendingCall) => void;
  /** The stored steps of an interrupted run of this loop. */
  resumeFrom?: readonly StepRecord[];
  /** Step-through: awaited before each engine call (not before oracle checks, which call no engine). */
  gate?: (next: PendingCall) => Promise<void>;
}

export type SelfRefineResult = LoopResult;

function aborted(): AppError {
  return new AppError('aborted', 'Stopped.');
}

/** Calls the engine for one prepared call; an abort in any form becomes AppError('aborted'). */
async function callEngine(
  call: PreparedCall,
  task: Task,
  signal: AbortSignal | undefined,
  onToken?: (delta: string) => void,
): Promise<ChatResult> {
  let result: ChatResult;
  try {
    result = await call.engine.chat({ ...call.params, messages: call.messages, adapterId: call.adapterId, signal, onToken });
  } catch (e) {
    if (isAbort(e) || signal?.aborted) throw aborted();
    throw explainOverflow(e, call, task);
  }
  if (result.finishReason === 'abort' || signal?.aborted) throw aborted();
  return result;
}

function publicCall(c: PreparedCall): PendingCall {
  return { loopId: c.loopId, taskId: c.taskId, kind: c.kind, refineRound: c.refineRound, role: c.role, messages: c.messages };
}

export async function runSelfRefine(options: SelfRefineOptions): Promise<SelfRefineResult> {
  const { signal, onStep, onToken, gate } = options;
  const now = options.now ?? Date.now;
  const driver = new LoopDriver(options.task, options.loopId, options, options.resumeFrom);
  for (;;) {
    throwIfAborted(signal);
    const action = driver.next();
    if (action.type === 'stop') return driver.result(action.reason);
    if (action.type === 'oracle') {
      const step = driver.oracleStep(action.refineRound, now());
      await onStep(step);
      driver.push(step);
      continue;
    }
    const call = driver.prepare(action);
    const pending = publicCall(call);
    if (gate) {
      await gate(pending);
      throwIfAborted(signal);
    }
    const startedAt = now();
    const result = await callEngine(call, options.task, signal, onToken ? (d) => onToken(d, pending) : undefined);
    const step = driver.record(call, result, startedAt, Math.max(0, now() - startedAt));
    await onStep(step);
    driver.push(step);
  }
}

/** One loop of a batch: a task, its loop id, and the stored steps when resuming. */
export interface BatchLoop {
  task: Task;
  loopId: string;
  resumeFrom?: readonly StepRecord[];
}

export interface SelfRefineBatchOptions extends LoopSettings {
  loops: readonly BatchLoop[];
  onStep: (step: StepRecord) => Promise<void>;
  /** Called once per loop as it finishes (in the order they finish). */
  onLoopDone?: (result: LoopResult, index: number) => void | Promise<void>;
  /** Requests per chatBatch call; default 8 (bounds the engine's memory for a batch). */
  batchSize?: number;
}

/**
 * Runs many loops in lock-step: each wave takes the next call of every unfinished loop and sends the actor's
 * calls together (engine.chatBatch in chunks of `batchSize` when the engine offers it and there are several,
 * otherwise one by one), then the critic's. Steps of a batched call share its start time and duration. Each loop's steps come out exactly as runSelfRefine would write them. Results are in
 * the order of `loops`.
 */
export async function runSelfRefineBatch(options: SelfRefineBatchOptions): Promise<LoopResult[]> {
  const { signal, onStep } = options;
  const now = options.now ?? Date.now;
  const drivers = options.loops.map((l) => new LoopDriver(l.task, l.loopId, options, l.resumeFrom));
  const results: (LoopResult | null)[] = drivers.map(() => null);
  const active = new Set(drivers.map((_, i) => i));

  while (active.size > 0) {
    throwIfAborted(signal);
    const calls: { index: number; call: PreparedCall }[] = [];
    for (const i of [...active]) {
      const d = drivers[i];
      // Oracle checks are instant: run them until the loop needs an engine or stops.
      for (;;) {
        const action = d.next();
        if (action.type === 'stop') {
          results[i] = d.result(action.reason);
          active.delete(i);
          await options.onLoopDone?.(results[i]!, i);
          break;
        }
        if (action.type === 'oracle') {
          const step = d.oracleStep(action.refineRound, now());
          await onStep(step);
          d.push(step);
          continue;
        }
        calls.push({ index: i, call: d.prepare(action) });
        break;
      }
    }
    const size = Math.max(1, Math.floor(options.batchSize ?? 8));
    const groups: (typeof calls)[] = [];
    for (const role of ['actor', 'critic'] as const) {
      const all = calls.filter((c) => c.call.role === role);
      for (let k = 0; k < all.length; k += size) groups.push(all.slice(k, k + size));
    }
    for (const group of groups) {
      const engine = group[0].call.engine;
      throwIfAborted(signal);
      const startedAt = now();
      let outs: ChatResult[];
      if (engine.chatBatch && group.length > 1) {
        try {
          outs = await engine.chatBatch(
            group.map(({ call }) => ({ ...call.params, messages: call.messages, adapterId: call.adapterId, signal })),
          );
        } catch (e) {
          if (isAbort(e) || signal?.aborted) throw aborted();
          const longest = group[longestPrompt(group.map((g) => g.call.messages))];
          throw explainOverflow(e, longest.call, drivers[longest.index].task);
        }
        if (outs.length !== group.length) {
          throw new AppError('engine', `The engine returned ${outs.length} results for ${group.length} requests.`);
        }
        if (signal?.aborted || outs.some((o) => o.finishReason === 'abort')) throw aborted();
        const durationMs = Math.max(0, now() - startedAt);
        for (let j = 0; j < group.length; j++) {
          const { index, call } = group[j];
          const step = drivers[index].record(call, outs[j], startedAt, durationMs);
          await onStep(step);
          drivers[index].push(step);
        }
      } else {
        for (const { index, call } of group) {
          const t0 = now();
          const out = await callEngine(call, drivers[index].task, signal);
          const step = drivers[index].record(call, out, t0, Math.max(0, now() - t0));
          await onStep(step);
          drivers[index].push(step);
        }
      }
    }
  }
  return results as LoopResult[];
}

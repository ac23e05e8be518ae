/**
 * Test doubles for the ui-*.test.ts files: a tfjs engine whose "worker" is a script (chat, chatBatch, adapters,
 * training with progress and checkpoints), and a scripted toy-arithmetic model on the real toy world: its draft
 * has the sloppy drafter's habit until it is trained (then it is right), its feedback is the program's column
 * check, its refinement copies the feedback's answer. Everything else (the loop, SELF, SRT, storage) is real.
 */
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import type { AdapterFiles, BackendInfo, TfjsApi, TfjsChatParams, TrainParams } from '../../src/core/engine/tfjs/api.ts';
import { TfjsEngineBase, type TfjsCaller } from '../../src/core/engine/tfjs/engine.ts';
import { localCaller } from '../../src/core/engine/tfjs/local-caller.ts';
import type { Handlers } from '../../src/core/engine/protocol-server.ts';
import { AppError } from '../../src/core/errors.ts';
import { peftAdapterConfigJson } from '../../src/core/lora/peft-save.ts';
import type { ModelConfig } from '../../src/core/model/types.ts';
import { habitDraft, toyColumns, tryParseToyQuestion, writeToyFeedback, writeWorking } from '../../src/core/toy/index.ts';
import { TOY_CHECK, TOY_FIX } from '../../src/core/toy/prompts.ts';
import { openStudioDb, type StudioDb } from '../../src/db/db.ts';

export const TEST_CONFIG: ModelConfig = {
  architecture: 'llama',
  vocabSize: 300,
  hiddenSize: 64,
  intermediateSize: 160,
  numLayers: 2,
  numHeads: 4,
  numKvHeads: 2,
  headDim: 16,
  rmsNormEps: 1e-5,
  ropeTheta: 1e4,
  ropeScaling: { type: 'default' },
  maxPositionEmbeddings: 256,
  tieWordEmbeddings: false,
  attentionBias: false,
  attentionOutputBias: false,
  qkNorm: false,
  bosTokenId: null,
  eosTokenIds: [2],
};

export type Script = (req: TfjsChatParams) => string;

export interface FakeOptions {
  /** Loss of each training step (default 1 / step). */
  loss?: (step: number) => number;
  /** Called before each training step; throw to fail, or await to hold the run. */
  beforeStep?: (step: number, signal: AbortSignal) => Promise<void> | void;
  /** An adapter's files are refused with this error. */
  refuseAdapter?: (files: AdapterFiles) => AppError | null;
  /** Count one character as one token: a reply longer than maxTokens is cut there (finishReason 'length'). */
  charTokens?: boolean;
}

/** A TfjsEngineBase whose host is a script: what the UI runners see is exactly the engine API. */
export class FakeTfjsEngine extends TfjsEngineBase {
  readonly adapters = new Map<string, AdapterFiles>();
  readonly trainCalls: TrainParams[] = [];
  readonly chats: TfjsChatParams[] = [];
  readonly #caller: TfjsCaller;

  constructor(script: Script, o: FakeOptions = {}) {
    super({ source: { kind: 'url', url: 'http://test/model/' } });
    const backend: BackendInfo = { backend: 'cpu', reason: 'test double', threads: null, threadReason: null, kernels: null };
    let modelId = '';
    const known = (id: string | null) => {
      if (id !== null && !this.adapters.has(id)) throw new AppError('not-found', `The engine has no adapter "${id}".`);
    };
    const reply = (p: TfjsChatParams) => {
      known(p.adapterId);
      this.chats.push(p);
      const full = script(p);
      const cut = o.charTokens === true && p.maxTokens !== undefined && full.length > p.maxTokens;
      const text = cut ? full.slice(0, p.maxTokens) : full;
      const finishReason = cut ? ('length' as const) : ('stop' as const);
      return { text, finishReason, usage: { promptTokens: 10, completionTokens: text.length, prefillTokensPerSec: 100, decodeTokensPerSec: 10, totalMs: 1 } };
    };
    const handlers: Handlers<TfjsApi> = {
      init: async () => backend,
      load: async (p) => {
        modelId = p.modelId;
        this.adapters.clear();
        return { modelId, config: TEST_CONFIG, loadMs: 1, backend, parameters: 1000, weightFormat: 'f32', formatError: null };
      },
      unload: async () => null,
      chat: async (p) => reply(p),
      chatBatch: async (p) => p.requests.map(reply),
      addAdapter: async (p) => {
        const refused = o.refuseAdapter?.(p.files);
        if (refused) throw refused;
        this.adapters.set(p.adapterId, p.files);
        const c = JSON.parse(p.files.adapterConfig) as { r: number; lora_alpha: number };
        return { config: { r: c.r, alpha: c.lora_alpha, dropout: 0, rslora: false, targetModules: ['q_proj', 'v_proj'], layers: null } };
      },
      removeAdapter: async (p) => {
        this.adapters.delete(p.adapterId);
        return null;
      },
      exportAdapter: async (p) => {
        known(p.adapterId);
        const f = this.adapters.get(p.adapterId)!;
        return p.gguf ? { ...f, gguf: new TextEncoder().encode(`GGUF:${p.adapterId}`) } : f;
      },
      mergedModel: async () => {
        throw new AppError('unsupported', 'The scripted test engine does not merge adapters.');
      },
      retention: async () => {
        throw new AppError('unsupported', 'The scripted test engine does not measure merges.');
      },
      train: async (p, ctx) => {
        this.trainCalls.push(p);
        known(p.fromAdapterId);
        const total = p.config.steps ?? Math.max(1, Math.ceil((p.data.rows.length * p.config.epochs) / p.config.batchSize));
        const first = p.resume ? Number(new TextDecoder().decode(p.resume['step.txt'])) : 0;
        ctx.progress({ kind: 'status', status: 'running' });
        ctx.progress({ kind: 'prepared', examples: p.data.rows.length, truncated: 0, dropped: 0, totalSteps: total });
        const loss = o.loss ?? ((s: number) => 1 / s);
        for (let step = first + 1; step <= total; step++) {
          if (ctx.signal.aborted) throw new AppError('aborted', 'Stopped.');
          await o.beforeStep?.(step, ctx.signal);
          if (ctx.signal.aborted) throw new AppError('aborted', 'Stopped.');
          ctx.progress({ kind: 'step', step, totalSteps: total, loss: loss(step), lr: p.config.lr, gradNorm: 1, tokensPerSec: 500, memoryBytes: 1 << 20, elapsedMs: step * 10 });
          if (p.config.checkpointEvery > 0 && step % p.config.checkpointEvery === 0 && step < total) {
            ctx.progress({ kind: 'checkpoint', step, files: { 'step.txt': new TextEncoder().encode(String(step)) } });
          }
        }
        const files: AdapterFiles = {
          adapterConfig: peftAdapterConfigJson(p.config.lora, { baseModel: modelId }),
          safetensors: new TextEncoder().encode(`weights of ${p.adapterId} from ${p.fromAdapterId ?? 'base'}`),
          ...(p.gguf ? { gguf: new TextEncoder().encode(`GGUF:${p.adapterId}`) } : {}),
        };
        this.adapters.set(p.adapterId, files);
        return { adapterId: p.adapterId, status: 'completed', steps: total, finalLoss: loss(total), examples: p.data.rows.length, truncated: 0, seconds: 0.1, files };
      },
      trainControl: async () => ({ paused: false }),
    };
    this.#caller = localCaller<TfjsApi>(handlers);
  }

  protected caller(): TfjsCaller {
    return this.#caller;
  }
}

function lastUser(p: TfjsChatParams): string {
  return p.messages[p.messages.length - 1].content;
}

/**
 * A scripted toy model: the draft (a column working) has the drafter's habit (wrong whenever the ones column
 * carries or borrows) until an adapter is applied; feedback is the program's column check of the answer under
 * review; a refinement writes the right working ending in the feedback's corrected answer.
 */
export function toyModel(p: TfjsChatParams): string {
  const user = lastUser(p);
  const lines = user.split('\n');
  const q = tryParseToyQuestion(lines[0]);
  if (!q) return 'I cannot read that.';
  if (user.endsWith(TOY_CHECK)) return writeToyFeedback(q, lines.slice(1, -1).join('\n'));
  if (user.endsWith(TOY_FIX)) return writeWorking(q.op, toyColumns(q), /^answer: (\d+)$/m.exec(user)?.[1] ?? '0');
  const right = writeWorking(q.op, toyColumns(q));
  if (p.adapterId) return right;
  return habitDraft(q)?.text ?? right;
}

let dbCounter = 0;
export async function uiDb(): Promise<StudioDb> {
  return openStudioDb({ name: `ui-${++dbCounter}`, deps: { indexedDB: new IDBFactory(), IDBKeyRange } });
}

/**
 * The tfjs engine in the harness page, for tests/e2e/train-*.spec.ts and tfjs-*.spec.ts: the real page-side
 * TfjsWorkerEngine / TfjsWorkerTrainer on the real workers/tfjs.worker.ts (bundled by Vite from the
 * `new Worker(new URL(…))` in spawn.ts). Exposed as `window.tfjsHarness`; every result is structured-clone
 * safe (errors come back as { code, message }).
 */
import type { AdapterFiles, BackendName, TfjsTrainConfig, TrainProgressMessage } from '../../../src/core/engine/tfjs/api.ts';
import { trainConfig } from '../../../src/core/engine/tfjs/train-config.ts';
import { TfjsWorkerEngine, TfjsWorkerTrainer } from '../../../src/core/engine/tfjs/worker-engine.ts';
import type { ChatMessage, ChatResult } from '../../../src/core/engine/types.ts';
import type { PreferenceRow, SftRow } from '../../../src/core/train/trl.ts';
import { toWireError, type WireError } from '../../../src/core/errors.ts';

interface Slot {
  engine: TfjsWorkerEngine;
  trainer: TfjsWorkerTrainer;
  events: TrainProgressMessage[];
  files: Map<string, AdapterFiles>;
  run: Promise<{ ok: true; adapterId: string; metrics: Record<string, number> } | { ok: false; error: WireError }> | null;
}

const slots = new Map<string, Slot>();

function slot(name: string): Slot {
  const s = slots.get(name);
  if (!s) throw new Error(`no engine "${name}"; open it first`);
  return s;
}

/** Event summaries (checkpoint files as their names and sizes). */
type EventView = Exclude<TrainProgressMessage, { kind: 'checkpoint' }> | { kind: 'checkpoint'; step: number; files: Record<string, number> };

export interface TrainStart {
  method: 'sft' | 'dpo';
  rows: SftRow[] | PreferenceRow[];
  adapterId: string;
  fromAdapterId?: string | null;
  config: Partial<Omit<TfjsTrainConfig, 'lora'>> & { lora?: Partial<TfjsTrainConfig['lora']> };
  /** Ask for a pause as soon as this step is reported (from the progress callback, as a button would). */
  pauseAtStep?: number;
}

export const tfjsHarness = {
  /** Starts a worker engine on `backend` and loads `repo` from the hub stand-in. */
  async open(name: string, o: { backend: 'auto' | BackendName; hub: string; repo: string; weightFormat?: 'f32' | 'f32-packed' | 'int8' }) {
    slots.get(name)?.engine.dispose();
    const engine = new TfjsWorkerEngine({ backend: o.backend, source: { kind: 'hub', repo: o.repo, baseUrl: o.hub }, weightFormat: () => o.weightFormat ?? 'f32' });
    const s: Slot = { engine, trainer: null as unknown as TfjsWorkerTrainer, events: [], files: new Map(), run: null };
    s.trainer = new TfjsWorkerTrainer(engine, { gguf: true, onEvent: (m) => s.events.push(m), onAdapter: (files, info) => void s.files.set(info.adapterId, files) });
    slots.set(name, s);
    const phases: string[] = [];
    await engine.load(o.repo, { onProgress: (p) => phases.push(p.phase) });
    return { backend: engine.backend, modelId: engine.modelId, parameters: engine.model?.parameters ?? 0, phases: [...new Set(phases)], model: engine.model };
  },

  async chat(name: string, messages: ChatMessage[], o: { adapterId?: string; maxTokens?: number } = {}): Promise<ChatResult | { error: WireError }> {
    try {
      return await slot(name).engine.chat({ messages, maxTokens: o.maxTokens ?? 8, adapterId: o.adapterId ?? null });
    } catch (e) {
      return { error: toWireError(e) };
    }
  },

  /** Starts a training run and returns at once; see waitTraining. */
  startTraining(name: string, t: TrainStart): void {
    const s = slot(name);
    s.events = [];
    const config = trainConfig(t.config);
    const request =
      t.method === 'sft'
        ? { method: 'sft' as const, rows: t.rows as SftRow[] }
        : { method: 'dpo' as const, rows: t.rows as PreferenceRow[] };
    const onProgress = (p: { step: number }): void => {
      if (p.step === t.pauseAtStep) void s.trainer.pause();
    };
    s.run = s.trainer
      .train({ ...request, adapterId: t.adapterId, fromAdapterId: t.fromAdapterId ?? null, label: t.adapterId, config, onProgress })
      .then(
        (out) => ({ ok: true as const, adapterId: out.adapterId, metrics: out.metrics }),
        (e: unknown) => ({ ok: false as const, error: toWireError(e) }),
      );
  },

  async waitTraining(name: string) {
    const s = slot(name);
    if (!s.run) throw new Error('no training started');
    return s.run;
  },

  events(name: string): EventView[] {
    return slot(name).events.map((e) =>
      e.kind === 'checkpoint' ? { kind: 'checkpoint', step: e.step, files: Object.fromEntries(Object.entries(e.files).map(([k, v]) => [k, v.byteLength])) } : e,
    );
  },

  pause: (name: string) => slot(name).trainer.pause(),
  resume: (name: string) => slot(name).trainer.resume(),
  abort: (name: string) => slot(name).trainer.abort(),

  /** What onAdapter stored for an adapter: config JSON and byte sizes. */
  storedFiles(name: string, adapterId: string) {
    const f = slot(name).files.get(adapterId);
    return f ? { config: JSON.parse(f.adapterConfig) as Record<string, unknown>, safetensors: f.safetensors.byteLength, gguf: f.gguf?.byteLength ?? 0 } : null;
  },

  /** Adds the stored files of `from` again under `as` (as the app does after a reload). */
  async readdStored(name: string, from: string, as: string) {
    const s = slot(name);
    const f = s.files.get(from);
    if (!f) throw new Error(`no stored files for ${from}`);
    return s.engine.addAdapter(as, f);
  },

  close(name: string): void {
    slots.get(name)?.engine.dispose();
    slots.delete(name);
  },
};

declare global {
  interface Window {
    tfjsHarness: typeof tfjsHarness;
  }
}

window.tfjsHarness = tfjsHarness;

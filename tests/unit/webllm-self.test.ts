/**
 * SELF on a web-llm actor (src/core/engine/evolving-actor.ts), with WEB-LLM'S WEBGPU COMPUTE STOOD IN by our
 * tfjs runtime on the same MLC files (src/cli/webllm-node.ts): no web-llm model library can run here. The
 * rest is real: the toy model exported to MLC by the project, its files in web-llm's cache scopes (in
 * memory), LoRA training on tfjs from those files, every round's adapter merged into new MLC files and
 * registered as an evolved model, and the next round generating on that evolved model, read from the cache.
 */
import { describe, expect, it } from 'vitest';
import { TfjsTrainer } from '../../src/core/engine/tfjs/trainer.ts';
import { evolvedModelUrl, listEvolvedModels, type EvolvedBase } from '../../src/core/engine/webllm/evolved.ts';
import { TOY_SELF_TRAIN, toySelfTrainConfig } from '../../src/core/toy/self-train.ts';
import { runToySelf } from '../../src/core/toy/self-experiment.ts';
import type { MlcQuantization } from '../../src/core/mlc/types.ts';
import { cacheAsWebLlm, MemoryCacheStorage, nodeWebLlmActor } from '../../src/cli/webllm-node.ts';
import { mlcFiles } from './mlc-helpers.ts';
import { AppError } from '../../src/core/errors.ts';
import { EvolvingActor } from '../../src/core/engine/evolving-actor.ts';
import { evolveIntoCache } from '../../src/core/engine/webllm/evolve.ts';
import { createExperiment } from '../../src/db/experiments.ts';
import { addTaskSet } from '../../src/ui/tasks/task-sets.ts';
import '../../src/ui/tasks/toy-kind.ts';
import { parseSelfProgress, startSelfRun } from '../../src/ui/runs/self-runner.ts';
import { toySelfSettings, type SelfSettings } from '../../src/ui/self/self-settings.ts';
import { MemoryCheckpointStore } from '../../src/ui/training/checkpoint-store.ts';
import { FakeLocks } from './db-helpers.ts';
import { FakeTfjsEngine, toyModel, uiDb } from './ui-self-fakes.ts';
import { startSrtRun } from '../../src/ui/runs/srt-runner.ts';
import { defaultSrtSettings, type SrtSettings } from '../../src/ui/srt/srt-settings.ts';
import { srtModelsText } from '../../src/ui/srt/srt-facts.ts';

const ORIGIN = 'http://localhost:5173';

function baseOf(q: MlcQuantization): { base: EvolvedBase; model: string } {
  const webllmId = `toy-arith-${q}-MLC`;
  return { base: { webllmId, quantization: q, modelLib: `https://example.org/libs/toy-arith-${q}-webgpu.wasm` }, model: `https://huggingface.co/mlc-ai/${webllmId}` };
}

async function setup(q: MlcQuantization) {
  const caches = new MemoryCacheStorage();
  const { base, model } = baseOf(q);
  await cacheAsWebLlm(caches, model, await mlcFiles('toy-arith', q));
  const parts = await nodeWebLlmActor({ caches, base, model, origin: ORIGIN, backend: 'wasm' });
  return { caches, base, ...parts };
}

async function toySelf(actor: Awaited<ReturnType<typeof setup>>['actor']) {
  let n = 0;
  const trainer = new TfjsTrainer(actor, { newAdapterId: () => `adapter-${++n}` });
  return runToySelf({ engine: actor, trainer, trainConfig: { ...toySelfTrainConfig(TOY_SELF_TRAIN, 1), steps: 6 }, seed: 1, rounds: 2, perRound: 8, evalCount: 6, batchSize: 8 });
}

describe('SELF with a web-llm actor (web-llm compute stood in by tfjs on the same MLC files)', () => {
  it('q0f32: each round merges exactly, registers an evolved model, and the next round runs on it', async () => {
    const { caches, base, actor, generator, trainer } = await setup('q0f32');
    const res = await toySelf(actor);
    const evolved = await listEvolvedModels(caches);
    expect(evolved.map((m) => m.adapterId)).toEqual(['adapter-1', 'adapter-2']);
    // Round 0 and round 1's collection on the base; round 1's evaluation and round 2 on evolved-1; then evolved-2.
    expect(generator.loads).toEqual([base.webllmId, `${base.webllmId}-evolved-1`, `${base.webllmId}-evolved-2`]);
    for (const m of evolved) {
      expect(m.base).toEqual(base);
      expect(m.model).toBe(evolvedModelUrl(ORIGIN, m.webllmId));
      expect(m.report).toMatchObject({ exact: true });
      expect(m.report!.weightKept).toBeCloseTo(1, 4);
      expect(caches.urls('webllm/model').filter((u) => u.startsWith(m.model))).toContain(`${m.model}tensor-cache.json`);
    }
    expect(caches.urls('webllm/wasm')).toEqual([]); // evolved models reuse the base's library
    expect(res.rounds.map((r) => r.adapterId)).toEqual([null, 'adapter-1', 'adapter-2']);
    expect((await actor.modelFor('adapter-2')).modelId).toBe(`${base.webllmId}-evolved-2`);
    // The evolved model (merged, read from the cache) answers exactly as the trainer's base + adapter does.
    const messages = [{ role: 'user' as const, content: 'What is 123 + 456?' }];
    const merged = await actor.chat({ messages, adapterId: 'adapter-2', temperature: 0, maxTokens: 40 });
    const lora = await trainer.chat({ messages, adapterId: 'adapter-2', temperature: 0, maxTokens: 40 });
    expect(merged.text).toBe(lora.text);
    expect(merged.text.length).toBeGreaterThan(0);
  }, 240_000);

  it('q4f32_1: the merge is requantized and the logit retention is measured and kept with the model', async () => {
    const { caches, actor, trainer } = await setup('q4f32_1');
    const out = await new TfjsTrainer(actor, { newAdapterId: () => 'a1' }).train({
      method: 'sft',
      rows: [{ messages: [{ role: 'user', content: 'What is 100 + 200?' }, { role: 'assistant', content: '300' }] }],
      fromAdapterId: null,
      config: { ...toySelfTrainConfig(TOY_SELF_TRAIN, 1), steps: 4, lr: 0.02 },
      label: 'q4',
    });
    expect(out.adapterId).toBe('a1');
    const [m] = await listEvolvedModels(caches);
    expect(m.report?.exact).toBe(false);
    const kept = m.report?.logitsKept;
    expect(typeof kept).toBe('number');
    expect(kept!).toBeGreaterThan(0);
    expect(kept!).toBeLessThan(1.2);
    expect((await actor.modelFor('a1')).report).toEqual(m.report);
    expect(trainer.modelId).toBe('toy-arith-q4f32_1-MLC');
  }, 120_000);

  it('a stored SELF run (the SELF tab\'s runner) records the model of each round and what the q4 merge kept', async () => {
    const { base, actor } = await setup('q4f32_1');
    const db = await uiDb();
    const exp = await createExperiment(db, { name: 'toy on web-llm', modelId: base.webllmId });
    await addTaskSet(db, exp.id, 'toy-arith', { seed: 3, train: 4, eval: 3 });
    // A small meta-skill mix: the toy default's 250 corpus chats would make this round minutes long.
    const s: SelfSettings = { ...toySelfSettings(), rounds: 1, perRound: 4, evalCount: 3, batchSize: 4, metaMix: { feedback: 4, refine: 2 } };
    const deps = { db, locks: new FakeLocks(), checkpoints: new MemoryCheckpointStore() };
    const bar: { phase: string; fraction: number; message: string }[] = [];
    const result = await startSelfRun(deps, {
      experimentId: exp.id,
      experimentSettings: exp.settings,
      settings: s,
      engines: { actor, critic: null },
      labels: { actor: 'web-llm', critic: null },
      signal: new AbortController().signal,
      hooks: { onProgress: (p) => bar.push({ phase: p.phase, fraction: p.fraction, message: p.message }) },
    });
    const [run] = await db.runs.toArray();
    expect(run.status).toBe('done');
    // The bar moves through the train phase while the adapter is merged, written and measured, and never back.
    const train = bar.filter((b) => b.phase === 'train');
    const stage = (word: string) => train.filter((b) => b.message.includes(word)).map((b) => b.fraction);
    for (const word of ['merging the adapter', 'saving', 'measuring how much']) expect(stage(word).length).toBeGreaterThan(0);
    const merge = stage('merging the adapter');
    expect(merge.at(-1)!).toBeGreaterThan(merge[0]);
    expect(Math.min(...stage('saving'))).toBeGreaterThanOrEqual(merge.at(-1)!);
    expect(Math.max(...stage('measuring how much'))).toBeGreaterThan(Math.max(...stage('saving')));
    const steps = train.filter((b) => b.message.includes(' step '));
    expect(Math.max(...steps.map((b) => b.fraction))).toBeLessThan(merge[0] + 1e-9);
    for (let i = 1; i < bar.length; i++) expect(bar[i].fraction).toBeGreaterThanOrEqual(bar[i - 1].fraction - 1e-9);
    const models = parseSelfProgress(run.progress)?.actorModels;
    expect(models).toEqual({ '0': base.webllmId, '1': (await actor.modelFor(result.adapterId)).modelId });
    expect(models!['1']).toMatch(/-evolved-1$/);
    const [r0, r1] = run.metrics;
    expect(r0.logitsKept).toBeUndefined();
    expect(r1.mergeExact).toBe(0);
    expect(typeof r1.logitsKept).toBe('number');
    expect(typeof r1.weightsKept).toBe('number');
    expect(await db.adapters.get(result.adapterId!)).toMatchObject({ baseModelId: base.webllmId });
  }, 180_000);

  it('a stored SRT run on a web-llm actor (scripted critic) names the model at start, after SFT and after DPO', async () => {
    const { base, actor } = await setup('q0f32');
    const db = await uiDb();
    const exp = await createExperiment(db, { name: 'srt on web-llm', modelId: base.webllmId });
    await addTaskSet(db, exp.id, 'toy-arith', { seed: 7, train: 4, eval: 3 });
    const critic = new FakeTfjsEngine(toyModel);
    await critic.load('critic-model');
    const s: SrtSettings = { ...defaultSrtSettings('toy-arith'), perRound: 4, evalCount: 3, batchSize: 4 };
    const deps = { db, locks: new FakeLocks(), checkpoints: new MemoryCheckpointStore() };
    const bar: { phase: string; fraction: number; message: string }[] = [];
    const cp = await startSrtRun(deps, {
      experimentId: exp.id,
      experimentSettings: exp.settings,
      settings: s,
      engines: { actor, critic },
      labels: { actor: 'web-llm', critic: 'critic' },
      signal: new AbortController().signal,
      onProgress: (p) => bar.push({ phase: p.phase, fraction: p.fraction, message: p.message }),
    });
    const [run] = await db.runs.toArray();
    // SFT's bar moves on while its adapter is merged and written (q0: nothing to measure), and never back.
    const merge = bar.filter((b) => b.phase === 'sft' && b.message.includes('merging the adapter')).map((b) => b.fraction);
    expect(merge.at(-1)!).toBeGreaterThan(merge[0]);
    expect(bar.some((b) => b.phase === 'sft' && b.message.includes('saving'))).toBe(true);
    expect(bar.some((b) => b.message.includes('measuring how much'))).toBe(false);
    for (let i = 1; i < bar.length; i++) expect(bar[i].fraction).toBeGreaterThanOrEqual(bar[i - 1].fraction - 1e-9);
    expect(cp.sftAdapterId).not.toBeNull();
    const models = (run.progress as { actorModels?: Record<string, string> }).actorModels!;
    expect(models.start).toBe(base.webllmId);
    expect(models.sft).toBe((await actor.modelFor(cp.sftAdapterId)).modelId);
    if (cp.dpoAdapterId) expect(models.dpo).toBe((await actor.modelFor(cp.dpoAdapterId)).modelId);
    expect(run.metrics.at(-1)!.mergeExactSft).toBe(1);
    expect(srtModelsText(run)).toContain(`after SFT ${models.sft} (exact merge)`);
  }, 240_000);

  it('a merge that fails (full quota) keeps the trained adapter; the request that needs it reports quota-exceeded, and a retry merges', async () => {
    const { caches, base, generator, trainer } = await setup('q0f32');
    let full = true;
    const actor = new EvolvingActor({
      generator,
      trainer,
      startModelId: base.webllmId,
      base,
      startModel: baseOf('q0f32').model,
      origin: ORIGIN,
      evolve: async (p, o) => {
        if (full) throw new AppError('quota-exceeded', 'The browser\'s storage is full.');
        return evolveIntoCache(caches, p, o);
      },
      find: async () => null,
    });
    const rows = [{ messages: [{ role: 'user' as const, content: 'What is 100 + 200?' }, { role: 'assistant' as const, content: '300' }] }];
    const out = await actor.train({ adapterId: 'q1', fromAdapterId: null, data: { method: 'sft', rows }, config: { ...toySelfTrainConfig(TOY_SELF_TRAIN, 1), steps: 2 } });
    expect(out.status).toBe('completed');
    expect(out.files.safetensors.byteLength).toBeGreaterThan(0);
    await expect(actor.chat({ messages: rows[0].messages.slice(0, 1), adapterId: 'q1', maxTokens: 4 })).rejects.toMatchObject({ code: 'quota-exceeded' });
    expect(await listEvolvedModels(caches)).toEqual([]);
    expect(generator.modelId).toBe(base.webllmId); // still on the base
    full = false;
    await actor.chat({ messages: rows[0].messages.slice(0, 1), adapterId: 'q1', maxTokens: 4 });
    expect(generator.modelId).toBe((await listEvolvedModels(caches))[0].webllmId);
  }, 120_000);

  it('refuses a base that is not in the cache, saying to download it first', async () => {
    const { base, model } = baseOf('q0f32');
    await expect(nodeWebLlmActor({ caches: new MemoryCacheStorage(), base, model, backend: 'wasm' })).rejects.toMatchObject({
      code: 'not-found',
      message: expect.stringContaining('Load it once with the web-llm engine'),
    });
  });
});

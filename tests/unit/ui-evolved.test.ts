/**
 * The UI's side of evolved web-llm models, without a browser: which catalog model an adapter belongs to,
 * which cached build is offered first (unquantized: an exact merge), what each choice says, and that an
 * evolved id is accepted as a stored web-llm engine choice (a made-up one is not).
 */
import { describe, expect, it } from 'vitest';
import { evolvedBaseOf, evolvedModelId } from '../../src/core/engine/webllm/evolved.ts';
import { exactBuildFor, mergeNote, preferredBase, progressText, webllmEntryFor } from '../../src/ui/adapters/evolve-webllm.ts';
import { parseEngineChoice, readEngineSetup, writeEngineSetup } from '../../src/ui/engines/engine-setup.ts';
import { rememberChoice } from '../../src/ui/engines/remember-choice.ts';
import { createExperiment, requireExperiment, updateExperiment } from '../../src/db/experiments.ts';
import { uiDb } from './ui-self-fakes.ts';

describe('making a web-llm model from an adapter', () => {
  it('finds the catalog model by catalog id, Hugging Face repo or web-llm id; none for other bases', () => {
    expect(webllmEntryFor('smollm2-360m')?.id).toBe('smollm2-360m');
    expect(webllmEntryFor('HuggingFaceTB/SmolLM2-360M-Instruct')?.id).toBe('smollm2-360m');
    expect(webllmEntryFor('Qwen2.5-0.5B-Instruct-q4f32_1-MLC')?.id).toBe('qwen2.5-0.5b');
    expect(webllmEntryFor('toy-arith')).toBeNull();
    expect(webllmEntryFor('fixtures/tiny-llama')).toBeNull();
  });

  it('offers a cached q0 build first, and says what a q4 merge loses and where the exact path is', () => {
    const entry = webllmEntryFor('smollm2-360m')!;
    expect(preferredBase(entry, ['SmolLM2-360M-Instruct-q4f16_1-MLC', 'SmolLM2-360M-Instruct-q0f16-MLC'])).toBe('SmolLM2-360M-Instruct-q0f16-MLC');
    expect(preferredBase(entry, ['SmolLM2-360M-Instruct-q4f32_1-MLC'])).toBe('SmolLM2-360M-Instruct-q4f32_1-MLC');
    expect(preferredBase(entry, [])).toBeNull();
    expect(mergeNote(entry, 'SmolLM2-360M-Instruct-q0f32-MLC')).toContain('merged exactly (to float32 precision)');
    const q4 = mergeNote(entry, 'SmolLM2-360M-Instruct-q4f32_1-MLC');
    expect(q4).toContain('requantized');
    // The float32 build, as preferredBase would pick: it runs without shader-f16 and keeps the merge exact to float32.
    expect(q4).toContain('The catalog has SmolLM2-360M-Instruct-q0f32-MLC');
    expect(progressText({ phase: 'merge', done: 3, total: 30 })).toBe('Merging… 3 of 30 parameters');
    expect(progressText({ phase: 'write', done: 2 ** 20, total: 4 * 2 ** 20 })).toBe("Saving in the browser's cache… 1.0 of 4.0 MB");
  });

  it('names the unquantized build of a 4-bit one as its exact path; none for an unquantized, evolved or unknown build', () => {
    expect(exactBuildFor('SmolLM2-360M-Instruct-q4f32_1-MLC')).toBe('SmolLM2-360M-Instruct-q0f32-MLC');
    expect(exactBuildFor('Qwen2.5-0.5B-Instruct-q4f16_1-MLC')).toBe('Qwen2.5-0.5B-Instruct-q0f32-MLC');
    expect(exactBuildFor('SmolLM2-360M-Instruct-q0f16-MLC')).toBeNull();
    expect(exactBuildFor(evolvedModelId('SmolLM2-360M-Instruct-q4f32_1-MLC', 1))).toBeNull();
    expect(exactBuildFor('smollm2-360m')).toBeNull();
    expect(parseEngineChoice({ kind: 'webllm', modelId: 'SmolLM2-360M-Instruct-q0f32-MLC' })).toEqual({ kind: 'webllm', modelId: 'SmolLM2-360M-Instruct-q0f32-MLC' });
  });

  it('switching a 4-bit actor to its exact build changes the experiment\'s stored actor choice and model, and keeps the rest', async () => {
    const db = await uiDb();
    const q4 = 'SmolLM2-360M-Instruct-q4f32_1-MLC';
    const exp = await createExperiment(db, { name: 'q4 actor', modelId: q4 });
    const critic = { kind: 'webllm' as const, modelId: 'qwen2.5-0.5b' };
    await updateExperiment(db, exp.id, { settings: { ...writeEngineSetup(exp.settings, { actor: { kind: 'webllm', modelId: q4 }, critic }), other: 1 } });
    await rememberChoice(db, exp.id, 'actor', { kind: 'webllm', modelId: exactBuildFor(q4)! });
    const after = await requireExperiment(db, exp.id);
    expect(readEngineSetup(after.settings).setup).toEqual({ actor: { kind: 'webllm', modelId: 'SmolLM2-360M-Instruct-q0f32-MLC' }, critic });
    expect(after.modelId).toBe('SmolLM2-360M-Instruct-q0f32-MLC');
    expect(after.settings.other).toBe(1);
  });

  it('accepts an evolved id as a web-llm engine choice; refuses ids that are not built on a catalog model', () => {
    const id = evolvedModelId('SmolLM2-135M-Instruct-q0f32-MLC', 1234567);
    expect(evolvedBaseOf(id)).toBe('SmolLM2-135M-Instruct-q0f32-MLC');
    expect(parseEngineChoice({ kind: 'webllm', modelId: id })).toEqual({ kind: 'webllm', modelId: id });
    expect(() => parseEngineChoice({ kind: 'webllm', modelId: 'NotAModel-evolved-abc' })).toThrow(expect.objectContaining({ code: 'bad-input' }));
  });
});

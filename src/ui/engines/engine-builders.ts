/**
 * How the page builds an engine for a choice: web-llm in its worker, the OpenAI-compatible endpoint, and the
 * tfjs engine (runtime + trainer in a worker) on a model source. `tfjsSource` says where the tfjs model's
 * files come from: the app's own folder (public/models/<id>/), a hub repo, or a picked folder.
 */
import { DEFAULT_CPU_SETTINGS, type CpuSettings } from './cpu-settings.ts';
import { AppError } from '../../core/errors.ts';
import { findEntry } from '../../core/engine/catalog.ts';
import { OpenAICompatibleEngine } from '../../core/engine/openai/engine.ts';
import { ReferenceCritic, REFERENCE_CRITIC_ID } from '../../core/toy/reference-critic.ts';
import type { ModelSourceSpec } from '../../core/engine/tfjs/api.ts';
import { WebLlmEngine } from '../../core/engine/webllm/engine.ts';
import { spawnWebLlmWorker } from '../../core/engine/webllm/spawn.ts';
import { evolvedLookup } from './evolved-models.svelte.ts';
import type { TfjsModelChoice } from './engine-setup.ts';
import type { BuiltEngine, EngineBuilder } from './engine-slot.ts';

/** Where the tfjs engine loads a choice from. `baseHref` is the page's address (location.href). */
export function tfjsSource(model: TfjsModelChoice, folderFiles: File[] | null, baseHref: string): ModelSourceSpec {
  switch (model.from) {
    case 'embedded': {
      const entry = findEntry(model.id);
      if (!entry || entry.kind !== 'tfjs-only') throw new AppError('not-found', `"${model.id}" is not a model embedded in the app.`);
      // The catalog's source is a site path ('/models/toy-arith'); resolve it against the page so the app
      // also works from a sub-folder.
      const path = entry.source.replace(/^\/+/, '').replace(/\/*$/, '/');
      return { kind: 'url', url: new URL(path, baseHref).href };
    }
    case 'hub':
      return { kind: 'hub', repo: model.repo, baseUrl: model.hubUrl };
    case 'folder':
      if (!folderFiles || folderFiles.length === 0) {
        throw new AppError('bad-input', `Pick the model folder "${model.name}" again: picked files are not kept across page loads.`);
      }
      return { kind: 'files', files: folderFiles };
  }
}

/** The id a tfjs choice is loaded (and stamped on steps) under. */
export function tfjsModelId(model: TfjsModelChoice): string {
  return model.from === 'embedded' ? model.id : model.from === 'hub' ? model.repo : `folder:${model.name}`;
}

export interface TfjsBuilder {
  (model: TfjsModelChoice, source: ModelSourceSpec, backend: 'auto' | 'webgpu' | 'wasm', cpu: CpuSettings): BuiltEngine;
}

/** The builder the app uses. `tfjs` is the tfjs engine's factory (its own room); without it tfjs is refused. */
export function browserEngineBuilder(tfjs: TfjsBuilder | null, baseHref: () => string = () => location.href): EngineBuilder {
  return (choice, extras) => {
    switch (choice.kind) {
      case 'webllm': {
        const engine = new WebLlmEngine({ spawn: spawnWebLlmWorker, evolved: evolvedLookup });
        return {
          engine,
          loadId: choice.modelId,
          describe: () => engine.choice?.reason ?? null,
          dispose: () => engine.dispose(),
        };
      }
      case 'openai': {
        const e = extras.endpoint;
        if (!e) throw new AppError('bad-input', 'Enter the endpoint (base URL, model and key) and save it first.');
        const engine = new OpenAICompatibleEngine({ baseUrl: e.baseUrl, model: e.model, apiKey: e.apiKey });
        return { engine, loadId: e.model, describe: () => `${e.model} at ${engine.baseUrl}` };
      }
      case 'reference': {
        const engine = new ReferenceCritic();
        return { engine, loadId: REFERENCE_CRITIC_ID, describe: () => 'Computes the feedback and the right working from the question: a program, not a model (toy questions only).' };
      }
      case 'tfjs': {
        if (!tfjs) {
          throw new AppError('unsupported', 'The tfjs engine is not part of this build yet. Use web-llm or an OpenAI-compatible endpoint.');
        }
        return tfjs(choice.model, tfjsSource(choice.model, extras.folderFiles, baseHref()), choice.backend, extras.cpu ?? DEFAULT_CPU_SETTINGS);
      }
    }
  };
}

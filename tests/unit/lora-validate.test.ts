/**
 * Adapter checks beyond names and shapes (src/core/lora/validate.ts): finite scaling numbers in
 * adapter_config.json (JSON 1e309 is Infinity), the rank against the base model, and finite weights, named
 * by tensor; the page's reading of adapter_config.json applies the same bounds.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { useNodeBackend } from '../../src/cli/node-backend.ts';
import { AppError } from '../../src/core/errors.ts';
import { bytesSource } from '../../src/core/io/byte-source.ts';
import { SafetensorsFile } from '../../src/core/io/safetensors.ts';
import { loadPeftAdapter, parsePeftConfig } from '../../src/core/lora/peft-load.ts';
import { checkRankFits, LORA_BOUNDS } from '../../src/core/lora/validate.ts';
import { parseModelConfig } from '../../src/core/model/config.ts';
import type { ModelConfig } from '../../src/core/model/types.ts';
import { loraFromPeftJson } from '../../src/ui/adapters/adapter-files.ts';
import { adapterDir, modelDir } from '../fixtures/reference.ts';
import { safetensorsBytes, type TestTensor } from '../fixtures/safetensors-bytes.ts';
import { memorySource } from '../fixtures/tiny-models.ts';

let llama: ModelConfig;
beforeAll(async () => {
  await useNodeBackend('cpu');
  llama = parseModelConfig(JSON.parse(await readFile(join(modelDir('tiny-llama'), 'config.json'), 'utf8')));
});

const enc = new TextEncoder();
const dec = new TextDecoder();

async function adapterFiles(): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  for (const f of await readdir(adapterDir('tiny-llama'))) files.set(f, new Uint8Array(await readFile(join(adapterDir('tiny-llama'), f))));
  return files;
}

async function refusal(p: Promise<unknown>): Promise<AppError> {
  const before = tf.memory().numTensors;
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(tf.memory().numTensors).toBe(before);
  if (!(e instanceof AppError)) throw new Error(`expected an AppError, got ${String(e)}`);
  return e;
}

/** adapter_config.json with one value replaced by raw JSON text (so 1e309 stays as written). */
function withRawValue(configText: string, key: string, raw: string): Uint8Array {
  const text = configText.replace(new RegExp(`"${key}":\\s*[^,}]+`), `"${key}": ${raw}`);
  expect(text).toContain(`"${key}": ${raw}`);
  return enc.encode(text);
}

describe('adapter_config.json numbers', () => {
  it('lora_alpha 1e309 (JSON for Infinity) is refused, by the engine and by the page', async () => {
    const files = await adapterFiles();
    files.set('adapter_config.json', withRawValue(dec.decode(files.get('adapter_config.json')), 'lora_alpha', '1e309'));
    const e = await refusal(loadPeftAdapter(memorySource('alpha-inf', files), llama));
    expect(e.code).toBe('bad-input');
    expect(e.message).toBe(`adapter_config.json: lora_alpha is Infinity; expected a positive number up to ${LORA_BOUNDS.alpha}. The adapter's config is damaged; export it again.`);
    expect(() => loraFromPeftJson(dec.decode(files.get('adapter_config.json')))).toThrow(/lora_alpha is Infinity/);
  });

  it('r, lora_alpha and lora_dropout outside their bounds', () => {
    const good = { peft_type: 'LORA', r: 8, lora_alpha: 16, target_modules: ['q_proj'] };
    for (const [patch, message] of [
      [{ r: 1e6 }, /r is 1000000; expected a positive integer up to 4096/],
      [{ lora_alpha: -Infinity }, /lora_alpha is -Infinity/],
      [{ lora_alpha: NaN }, /lora_alpha is NaN/],
      [{ lora_alpha: 1e7 }, /lora_alpha is 10000000; expected a positive number up to 1000000/],
      [{ lora_dropout: NaN }, /lora_dropout is NaN; expected a number in \[0, 1\)/],
    ] as const) {
      expect(() => parsePeftConfig({ ...good, ...patch })).toThrow(message);
    }
  });
});

describe('the rank against the base model', () => {
  it('refuses r larger than min(in, out) of a targeted projection', () => {
    expect(() => checkRankFits(llama, 64, ['q_proj', 'down_proj'])).not.toThrow();
    expect(() => checkRankFits(llama, 65, ['q_proj'])).toThrow(
      'This adapter does not fit the model: r=65 is larger than q_proj on this model allows (64 in, 64 out, so at most r=64) — the adapter was made for a larger model.',
    );
    // k_proj: 64 in, 2 kv heads × 16 = 32 out.
    expect(() => checkRankFits(llama, 40, ['k_proj'])).toThrow(/r=40 is larger than k_proj on this model allows \(64 in, 32 out, so at most r=32\)/);
  });

  it('is checked when an adapter is loaded, before any of its weights is read', async () => {
    const files = await adapterFiles();
    const cfg = JSON.parse(dec.decode(files.get('adapter_config.json'))) as Record<string, unknown>;
    files.set('adapter_config.json', enc.encode(JSON.stringify({ ...cfg, r: 100 })));
    const e = await refusal(loadPeftAdapter(memorySource('rank-100', files), llama));
    expect(e.code).toBe('adapter-mismatch');
    expect(e.message).toMatch(/r=100 is larger than q_proj on this model allows/);
  });
});

describe('adapter weights must be finite', () => {
  it('a NaN in lora_B is refused with the tensor and the position', async () => {
    const files = await adapterFiles();
    const st = await SafetensorsFile.open(bytesSource('adapter_model.safetensors', files.get('adapter_model.safetensors')!));
    const t: Record<string, TestTensor> = {};
    for (const n of st.names()) {
      const r = await st.read(n);
      t[n] = { dtype: 'F32', shape: r.shape, data: Array.from(r.values.data) };
    }
    const name = 'base_model.model.model.layers.1.mlp.up_proj.lora_B.weight'; // [160, 4]
    (t[name].data as number[])[2 * 4 + 3] = NaN;
    files.set('adapter_model.safetensors', safetensorsBytes(t));
    const e = await refusal(loadPeftAdapter(memorySource('nan-adapter', files), llama));
    expect(e.code).toBe('non-finite');
    expect(e.message).toBe(`adapter_model.safetensors: tensor ${name} holds NaN at [2, 3]. The adapter is damaged or the training that made it diverged; it was not loaded.`);
  });
});

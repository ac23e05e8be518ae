/**
 * Hostile model folders, adapters and data files on the real command line: each is refused with exit code 2
 * and one line on stderr naming the problem (no stack trace), and nothing is written.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adapterDir, modelDir } from '../fixtures/reference.ts';
import { lm } from './cli-helpers.ts';

let tmp: string;
const path = (...p: string[]) => join(tmp, ...p);

/** A copy of a fixture folder with `edit` applied to its files' text or bytes. */
async function variant(name: string, from: string, edit: (dir: string) => Promise<void>): Promise<string> {
  const dir = path(name);
  await cp(from, dir, { recursive: true });
  await edit(dir);
  return dir;
}

async function patchJson(file: string, patch: Record<string, unknown>): Promise<void> {
  await writeFile(file, JSON.stringify({ ...JSON.parse(await readFile(file, 'utf8')), ...patch }));
}

/** Sets one F32 value of a tensor in a safetensors file, found through its header. */
async function poison(file: string, tensor: string, index: number, value: number): Promise<void> {
  const bytes = new Uint8Array(await readFile(file));
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, { dtype: string; data_offsets: [number, number] }>;
  expect(header[tensor].dtype).toBe('F32');
  new DataView(bytes.buffer).setFloat32(8 + n + header[tensor].data_offsets[0] + 4 * index, value, true);
  await writeFile(file, bytes);
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'studio-hostile-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('refused input: exit code 2, one line, no stack', () => {
  it('absurd and inconsistent models, non-finite weights, bad adapters, data that is not UTF-8', async () => {
    const llama = modelDir('tiny-llama');
    const cases: Array<[string, () => Promise<string[]>, RegExp]> = [
      [
        'a billion layers',
        async () => ['logits', '--model', await variant('layers', llama, (d) => patchJson(join(d, 'config.json'), { num_hidden_layers: 1_000_000_000 })), '--ids', '1,2', '--out', path('o1.json')],
        /^lm logits: config\.json: num_hidden_layers is 1000000000; at most 512 is accepted\./,
      ],
      [
        'fewer layers in the config than in the file',
        async () => ['logits', '--model', await variant('fewer', llama, (d) => patchJson(join(d, 'config.json'), { num_hidden_layers: 1 })), '--ids', '1,2', '--out', path('o2.json')],
        /^lm logits: config\.json says num_hidden_layers is 1, but the checkpoint holds 2 layers/,
      ],
      [
        'tied embeddings with an lm_head.weight',
        async () => ['logits', '--model', await variant('tied', llama, (d) => patchJson(join(d, 'config.json'), { tie_word_embeddings: true })), '--ids', '1,2', '--out', path('o3.json')],
        /^lm logits: config\.json says tie_word_embeddings: true, but model\.safetensors also holds lm_head\.weight/,
      ],
      [
        'a NaN weight',
        async () => ['generate', '--model', await variant('nan', llama, (d) => poison(join(d, 'model.safetensors'), 'model.layers.0.self_attn.v_proj.weight', 70, NaN)), '--ids', '1,2', '--max-tokens', '2'],
        /^lm generate: model\.safetensors: tensor model\.layers\.0\.self_attn\.v_proj\.weight holds NaN at \[1, 6\]/,
      ],
      [
        'lora_alpha 1e309',
        async () => {
          const adapter = await variant('alpha', adapterDir('tiny-llama'), async (d) => {
            const file = join(d, 'adapter_config.json');
            await writeFile(file, (await readFile(file, 'utf8')).replace(/"lora_alpha":\s*\d+/, '"lora_alpha": 1e309'));
          });
          return ['logits', '--model', llama, '--adapter', adapter, '--ids', '1,2', '--out', path('o5.json')];
        },
        /^lm logits: adapter_config\.json: lora_alpha is Infinity; expected a positive number/,
      ],
      [
        'a NaN adapter weight',
        async () => {
          const adapter = await variant('nan-adapter', adapterDir('tiny-llama'), (d) => poison(join(d, 'adapter_model.safetensors'), 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight', 0, Infinity));
          return ['logits', '--model', llama, '--adapter', adapter, '--ids', '1,2', '--out', path('o6.json')];
        },
        /^lm logits: adapter_model\.safetensors: tensor base_model\.model\.model\.layers\.0\.self_attn\.q_proj\.lora_A\.weight holds Infinity at \[0, 0\]/,
      ],
      [
        'training data that is not UTF-8',
        async () => {
          const data = path('latin1.jsonl');
          await writeFile(data, Buffer.concat([Buffer.from('{"text": "ok"}\n{"text": "caf'), Buffer.from([0xe9]), Buffer.from('"}\n')]));
          return ['train', '--model', llama, '--data', data, '--out', path('never'), '--steps', '1'];
        },
        /^lm train: .*latin1\.jsonl is not UTF-8 text: line 2 holds bytes that are not UTF-8 \(the first at byte 28\)/,
      ],
    ];
    const runs = await Promise.all(cases.map(async ([, args]) => lm(await args())));
    runs.forEach((r, i) => {
      const [name, , message] = cases[i];
      expect(r.code, `${name}: ${r.stderr}`).toBe(2);
      expect(r.stderr, name).toMatch(message);
      expect(r.stderr.trimEnd().split('\n'), name).toHaveLength(1);
      expect(r.stderr, name).not.toMatch(/\n\s+at /);
      expect(r.stdout, name).toBe('');
    });
    for (const out of ['o1', 'o2', 'o3', 'o5', 'o6']) expect(existsSync(path(`${out}.json`))).toBe(false);
    expect(existsSync(path('never'))).toBe(false);
  });
});

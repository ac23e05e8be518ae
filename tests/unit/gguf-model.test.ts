/**
 * The full-model GGUF writer, read back with @huggingface/gguf's reader: metadata keys as llama.cpp's converter
 * writes them for llama, qwen2 and qwen3; every tensor under its llama.cpp name with the file's shape order and
 * type; values as stored (F32 exact and llama q/k rows permuted as numpy would, F16 rounded, Q8_0 blocks within
 * half a step, with a float16 scale of max|x| / 127); the Llama 3 rope_freqs tensor; the tokenizer; and the
 * Ollama Modelfile built from the chat template. Runs without tfjs: the checkpoints are read independently.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gguf } from '@huggingface/gguf';
import { Template } from '@huggingface/jinja';
import { afterAll, describe, expect, it } from 'vitest';
import { baseModelMetadata, isHubId, modelNameFromFolder } from '../../src/core/gguf/general.ts';
import { ModelGgufWriter, type GgufDtype } from '../../src/core/gguf/model-gguf.ts';
import { chatTemplateParts, modelfile, ollamaTemplate, renderParts } from '../../src/core/gguf/modelfile.ts';
import { preTokenizerName } from '../../src/core/gguf/vocab.ts';
import { encodeGgml, GGMLType } from '../../src/core/io/ggml-quant.ts';
import { parseModelConfig } from '../../src/core/model/config.ts';
import type { ChatMessage } from '../../src/core/text/types.ts';
import { modelDir } from '../fixtures/reference.ts';
import { LLAMA3_TINY, QWEN3_TINY, randomCheckpoint } from '../fixtures/tiny-models.ts';
import { decodeHalf, numpyPermute, readSafetensorsIndependently } from './train-helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'gguf-model-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Json = Record<string, any>;
let fileNo = 0;

/** Writes a model folder's tensors (read independently, in file order) through ModelGgufWriter and parses the file. */
async function writeAndRead(files: Map<string, Uint8Array>, dtype: GgufDtype) {
  const rawConfig = JSON.parse(new TextDecoder().decode(files.get('config.json'))) as Json;
  const config = parseModelConfig(rawConfig);
  const st = readSafetensorsIndependently(files.get('model.safetensors')!);
  const writer = new ModelGgufWriter(config, files, { dtype, name: 'test-model', baseModel: 'org/base' });
  for (const [name, t] of st.tensors) writer.put(name, t.values);
  const bytes = writer.finish();
  const path = join(dir, `m${fileNo++}.gguf`);
  writeFileSync(path, bytes);
  const parsed = await gguf(path, { allowLocalFile: true });
  return { rawConfig, config, st, bytes, parsed, md: parsed.metadata as unknown as Json, writer };
}

function folder(name: 'tiny-llama' | 'tiny-qwen2'): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) out.set(f, new Uint8Array(readFileSync(join(modelDir(name), f))));
  return out;
}

/** The GGUF names a checkpoint must have, written out by hand from gguf-py's MODEL_TENSOR table. */
function expectedNames(c: Json): string[] {
  const names = ['token_embd.weight', 'output_norm.weight'];
  if (!c.tie_word_embeddings) names.push('output.weight');
  if (c.rope_scaling?.rope_type === 'llama3') names.push('rope_freqs.weight');
  for (let i = 0; i < c.num_hidden_layers; i++) {
    for (const t of ['attn_norm', 'attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_norm', 'ffn_gate', 'ffn_up', 'ffn_down']) names.push(`blk.${i}.${t}.weight`);
    if (c.model_type === 'qwen2' || c.attention_bias) for (const t of ['attn_q', 'attn_k', 'attn_v']) names.push(`blk.${i}.${t}.bias`);
    if (c.attention_bias && c.model_type !== 'qwen2') names.push(`blk.${i}.attn_output.bias`);
    if (c.model_type === 'qwen3') names.push(`blk.${i}.attn_q_norm.weight`, `blk.${i}.attn_k_norm.weight`);
  }
  return names.sort();
}

function hfName(gguf: string): string {
  const top: Record<string, string> = { 'token_embd.weight': 'model.embed_tokens.weight', 'output_norm.weight': 'model.norm.weight', 'output.weight': 'lm_head.weight' };
  if (top[gguf]) return top[gguf];
  const m = /^blk\.(\d+)\.(\w+)\.(weight|bias)$/.exec(gguf)!;
  const part: Record<string, string> = {
    attn_norm: 'input_layernorm', ffn_norm: 'post_attention_layernorm', attn_q_norm: 'self_attn.q_norm', attn_k_norm: 'self_attn.k_norm',
    attn_q: 'self_attn.q_proj', attn_k: 'self_attn.k_proj', attn_v: 'self_attn.v_proj', attn_output: 'self_attn.o_proj',
    ffn_gate: 'mlp.gate_proj', ffn_up: 'mlp.up_proj', ffn_down: 'mlp.down_proj',
  };
  return `model.layers.${m[1]}.${part[m[2]]}.${m[3]}`;
}

/** Values of one tensor decoded from the file bytes (F32, F16, Q8_0) with the Q8_0 scales. */
function decode(bytes: Uint8Array, at: number, count: number, type: number): { values: Float32Array; scales: Float32Array } {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const values = new Float32Array(count);
  const scales = new Float32Array(type === 8 ? count / 32 : 0);
  for (let i = 0; i < count; i++) {
    if (type === 0) values[i] = dv.getFloat32(at + 4 * i, true);
    else if (type === 1) values[i] = decodeHalf(dv.getUint16(at + 2 * i, true));
    else {
      const block = Math.floor(i / 32);
      const d = decodeHalf(dv.getUint16(at + 34 * block, true));
      scales[block] = d;
      values[i] = d * dv.getInt8(at + 34 * block + 2 + (i % 32));
    }
  }
  return { values, scales };
}

const CASES: Array<[string, () => Map<string, Uint8Array>]> = [
  ['llama (tiny-llama)', () => folder('tiny-llama')],
  ['qwen2 (tiny-qwen2: biases, tied)', () => folder('tiny-qwen2')],
  ['qwen3 (q/k norms, head_dim ≠ hidden / heads, rows of 48 and 80: Q8_0 falls back to F16)', () => randomCheckpoint(QWEN3_TINY, 7, 'BF16').files],
  ['llama with Llama 3 RoPE and attention biases', () => randomCheckpoint(LLAMA3_TINY, 9, 'F32').files],
];

describe('full-model GGUF, read back with @huggingface/gguf', () => {
  for (const [label, files] of CASES) {
    for (const dtype of ['F32', 'F16', 'Q8_0'] as const) {
      it(`${label}, ${dtype}`, async () => {
        const { rawConfig: c, config, st, bytes, parsed, md } = await writeAndRead(files(), dtype);
        const a = c.model_type as string;
        expect(md['general.architecture']).toBe(a);
        expect(md['general.type']).toBe('model');
        expect(md['general.name']).toBe('test-model');
        expect(md['general.base_model.0.repo_url']).toBe('https://huggingface.co/org/base');
        expect(md['general.file_type']).toBe({ F32: 0, F16: 1, Q8_0: 7 }[dtype]);
        expect(md['general.quantization_version']).toBe(2);
        expect(md[`${a}.block_count`]).toBe(c.num_hidden_layers);
        expect(md[`${a}.context_length`]).toBe(c.max_position_embeddings);
        expect(md[`${a}.embedding_length`]).toBe(c.hidden_size);
        expect(md[`${a}.feed_forward_length`]).toBe(c.intermediate_size);
        expect(md[`${a}.attention.head_count`]).toBe(c.num_attention_heads);
        expect(md[`${a}.attention.head_count_kv`]).toBe(c.num_key_value_heads);
        expect(md[`${a}.attention.layer_norm_rms_epsilon`]).toBeCloseTo(c.rms_norm_eps, 12);
        expect(md[`${a}.rope.freq_base`]).toBeCloseTo(c.rope_theta ?? c.rope_parameters.rope_theta, 0);
        const headDim = c.head_dim ?? c.hidden_size / c.num_attention_heads;
        if (headDim * c.num_attention_heads !== c.hidden_size) {
          expect(md[`${a}.attention.key_length`]).toBe(headDim);
          expect(md[`${a}.attention.value_length`]).toBe(headDim);
        } else expect(md[`${a}.attention.key_length`]).toBeUndefined();
        if (a === 'llama') {
          expect(md['llama.vocab_size']).toBe(c.vocab_size);
          expect(md['llama.rope.dimension_count']).toBe(headDim);
        }
        // Tokenizer: the fixtures' byte-level BPE with ChatML special tokens.
        const tokJson = JSON.parse(new TextDecoder().decode(files().get('tokenizer.json'))) as Json;
        expect(md['tokenizer.ggml.model']).toBe('gpt2');
        expect(md['tokenizer.ggml.pre']).toBe('gpt-2');
        expect(md['tokenizer.ggml.tokens']).toHaveLength(c.vocab_size);
        expect((md['tokenizer.ggml.tokens'] as string[])[2]).toBe('<|im_end|>');
        expect((md['tokenizer.ggml.token_type'] as number[]).slice(0, 4)).toEqual([3, 3, 3, 1]);
        expect(md['tokenizer.ggml.merges']).toEqual(tokJson.model.merges);
        expect(md['tokenizer.ggml.bos_token_id']).toBe(1);
        expect(md['tokenizer.ggml.eos_token_id']).toBe(2);
        expect(md['tokenizer.ggml.add_bos_token']).toBe(false);
        expect(md['tokenizer.chat_template']).toContain('<|im_start|>');

        const infos = new Map(parsed.tensorInfos.map((t) => [t.name, t]));
        expect([...infos.keys()].sort()).toEqual(expectedNames(c));
        expect(Number(parsed.tensorDataOffset) % 32).toBe(0);
        for (const [name, info] of infos) {
          if (name === 'rope_freqs.weight') continue;
          const src = st.tensors.get(hfName(name))!;
          expect(info.shape.map(Number), name).toEqual([...src.shape].reverse());
          const rows = src.shape.length === 2 ? src.shape[1] : src.shape[0];
          const want = src.shape.length === 1 || name.endsWith('_norm.weight') ? 0 : dtype === 'F32' ? 0 : dtype === 'F16' || rows % 32 !== 0 ? 1 : 8;
          expect(info.dtype, name).toBe(want);
          let values = src.values;
          if (a === 'llama' && /attn_[qk]\.(weight|bias)$/.test(name)) {
            const heads = name.includes('attn_q') ? c.num_attention_heads : c.num_key_value_heads;
            values = numpyPermute(src.values, src.shape[0], src.shape[1] ?? 1, heads);
          }
          const got = decode(bytes, Number(parsed.tensorDataOffset + info.offset), values.length, want);
          let worst = 0; // how far outside what the type allows any value is (0: none)
          for (let b = 0; b < values.length / 32 && want === 8; b++) {
            const amax = Math.max(...Array.from(values.subarray(b * 32, b * 32 + 32), Math.abs));
            expect(got.scales[b], `${name} block ${b}`).toBe(decodeHalf(f16(amax / 127)));
            for (let j = b * 32; j < b * 32 + 32; j++) worst = Math.max(worst, Math.abs(got.values[j] - values[j]) - (got.scales[b] / 2 + amax * 2e-3));
          }
          for (let i = 0; i < values.length && want !== 8; i++) worst = Math.max(worst, Math.abs(got.values[i] - (want === 0 ? values[i] : decodeHalf(f16(values[i])))));
          expect(worst, name).toBeLessThanOrEqual(0);
        }
        if (config.ropeScaling.type === 'llama3') {
          const info = infos.get('rope_freqs.weight')!;
          expect(info.dtype).toBe(0);
          const rf = decode(bytes, Number(parsed.tensorDataOffset + info.offset), headDim / 2, 0).values;
          // HF _compute_llama3_parameters with factor 8, low 1, high 4, original context 64.
          for (let i = 0; i < headDim / 2; i++) {
            const wavelen = (2 * Math.PI) * Math.pow(c.rope_theta, (2 * i) / headDim);
            const smooth = (64 / wavelen - 1) / (4 - 1);
            const want = wavelen < 64 / 4 ? 1 : wavelen > 64 ? 8 : 1 / ((1 - smooth) / 8 + smooth);
            expect(rf[i]).toBeCloseTo(want, 5);
          }
        }
      });
    }
  }

  it('writes Q8_0 blocks as ggml does: f16 scale max|x| / 127, int8 round-half-away, and writes rows it cannot block as F16', () => {
    const data = new Float32Array(32).map((_, i) => (i - 16) / 8); // -2 … 1.875, with exact halves after scaling
    const bytes = new Uint8Array(34);
    encodeGgml(new DataView(bytes.buffer), 0, data, GGMLType.Q8_0);
    const dv = new DataView(bytes.buffer);
    const d = decodeHalf(dv.getUint16(0, true));
    expect(d).toBe(decodeHalf(f16(2 / 127)));
    expect(dv.getInt8(2)).toBe(-127);
    for (let j = 0; j < 32; j++) {
      const x = Math.fround(data[j] * Math.fround(1 / Math.fround(2 / 127)));
      expect(dv.getInt8(2 + j)).toBe(Math.sign(x) * Math.round(Math.abs(x)));
    }
    const w = () => new ModelGgufWriter(parseModelConfig({ ...QWEN3_TINY }), randomCheckpoint(QWEN3_TINY, 1).files, { dtype: 'Q8_0', name: 'x' });
    expect(() => w()).not.toThrow(); // rows of 48 are written as F16, not refused
  });
});

/** float16 bits of x, rounding to nearest even (independent of the writer's helper). */
function f16(x: number): number {
  const f = new Float32Array([x]);
  const bits = new Uint32Array(f.buffer)[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = ((bits >>> 23) & 0xff) - 127 + 15;
  const mant = bits & 0x7fffff;
  if (exp >= 31) return sign | 0x7c00;
  if (exp <= 0) {
    const full = mant | 0x800000;
    const shift = 14 - exp;
    if (shift > 24) return sign;
    const q = Math.floor(full / 2 ** shift);
    const rem = full - q * 2 ** shift;
    const half = 2 ** (shift - 1);
    return sign | (rem > half || (rem === half && q & 1) ? q + 1 : q);
  }
  const q = mant >>> 13;
  const rem = mant & 0x1fff;
  const h = (exp << 10) | q;
  return sign | (rem > 0x1000 || (rem === 0x1000 && q & 1) ? h + 1 : h);
}

describe('tokenizer pre-tokenizer names llama.cpp accepts', () => {
  const split = (regex: string) => ({ type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false }, { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false }] });
  it('names the ones it splits exactly like, and says when it only comes close', () => {
    expect(preTokenizerName({ type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true })).toEqual({ pre: 'gpt-2', exact: true });
    expect(preTokenizerName({ type: 'Sequence', pretokenizers: [{ type: 'Digits', individual_digits: true }, { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true }] })).toEqual({ pre: 'smollm', exact: true });
    expect(preTokenizerName(split("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"))).toEqual({ pre: 'qwen2', exact: true });
    expect(preTokenizerName(split("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"))).toEqual({ pre: 'llama-bpe', exact: true });
    const toy = JSON.parse(readFileSync(join(process.cwd(), 'public/models/toy-arith/tokenizer.json'), 'utf8')) as Json;
    expect(preTokenizerName(toy.pre_tokenizer)).toEqual({ pre: 'smollm', exact: false });
    expect(preTokenizerName({ type: 'Whitespace' })).toEqual({ pre: 'default', exact: false });
  });
});

describe('names in GGUF metadata', () => {
  it('never takes a path, nor a relative folder for a hub id', () => {
    expect(modelNameFromFolder('/home/me/models/smol/', null)).toBe('smol');
    expect(modelNameFromFolder('/abs/models/smol', { _name_or_path: '/home/someone/ckpt/SmolLM2-135M' })).toBe('SmolLM2-135M');
    expect(modelNameFromFolder('C:\\models\\smol', null)).toBe('smol');
    expect(modelNameFromFolder('/', null)).toBe('model');
    expect(isHubId('HuggingFaceTB/SmolLM2-135M')).toBe(true);
    for (const s of ['./models/x', '../x/y', '/x/y', 'a/b/c', 'models/..', 'smol']) expect(isHubId(s), s).toBe(false);
    expect(baseModelMetadata('smol').map(([k]) => k)).toEqual(['general.base_model.count', 'general.base_model.0.name']);
  });
});

describe('Ollama Modelfile', () => {
  const TOKENS = { addGenerationPrompt: true, bosToken: '<|im_start|>', eosToken: '<|im_end|>', padToken: '<|im_end|>', unkToken: '<|endoftext|>' };
  const fixtureTemplate = (JSON.parse(readFileSync(join(modelDir('tiny-llama'), 'tokenizer_config.json'), 'utf8')) as Json).chat_template as string;
  const LLAMA3 =
    "{{- bos_token }}{%- for message in messages %}{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{%- endfor %}{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}";
  const conversations: ChatMessage[][] = [
    [{ role: 'user', content: 'Hi' }],
    [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello.' }, { role: 'user', content: 'Sum 2+2' }],
    [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }, { role: 'user', content: 'c' }],
  ];

  for (const [label, source, tokens] of [
    ['the fixtures’ ChatML with a default system turn', fixtureTemplate, TOKENS],
    ['a Llama 3 style template with a BOS prefix', LLAMA3, { ...TOKENS, bosToken: '<|begin_of_text|>' }],
  ] as const) {
    it(`reduces ${label} to pieces that render as the Jinja template does`, () => {
      const parts = chatTemplateParts(source, tokens)!;
      expect(parts).not.toBeNull();
      const jinja = new Template(source);
      for (const messages of conversations) {
        const want = jinja.render({ messages, add_generation_prompt: true, bos_token: tokens.bosToken, eos_token: tokens.eosToken });
        expect(renderParts(parts, messages)).toBe(want);
      }
    });
  }

  it('writes FROM ./model.gguf, a Go TEMPLATE over .Messages and the stop tokens', () => {
    const mf = modelfile({ gguf: 'model.gguf', chatTemplate: fixtureTemplate, tokens: TOKENS, eosTexts: ['<|im_end|>'], controlTexts: ['<|endoftext|>', '<|im_start|>', '<|im_end|>'] });
    expect(mf.template).toBe(true);
    expect(mf.text.split('\n')[0]).toBe('FROM ./model.gguf');
    expect(mf.text).not.toMatch(/ADAPTER/);
    expect(mf.text).toContain(
      'TEMPLATE """{{ if not .System }}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{{ end }}{{ range .Messages }}{{ if eq .Role "system" }}<|im_start|>system\n{{ .Content }}<|im_end|>\n{{ else if eq .Role "user" }}<|im_start|>user\n{{ .Content }}<|im_end|>\n{{ else if eq .Role "assistant" }}<|im_start|>assistant\n{{ .Content }}<|im_end|>\n{{ end }}{{ end }}<|im_start|>assistant\n"""',
    );
    expect(mf.stops).toEqual(['<|im_end|>']);
    expect(mf.text.trim().split('\n').at(-1)).toBe('PARAMETER stop "<|im_end|>"');
    const parts = chatTemplateParts(LLAMA3, { ...TOKENS, bosToken: '<|begin_of_text|>' })!;
    expect(ollamaTemplate(parts)).toBe(
      '<|begin_of_text|>{{ range .Messages }}{{ if eq .Role "system" }}<|start_header_id|>system<|end_header_id|>\n\n{{ .Content }}<|eot_id|>{{ else if eq .Role "user" }}<|start_header_id|>user<|end_header_id|>\n\n{{ .Content }}<|eot_id|>{{ else if eq .Role "assistant" }}<|start_header_id|>assistant<|end_header_id|>\n\n{{ .Content }}<|eot_id|>{{ end }}{{ end }}<|start_header_id|>assistant<|end_header_id|>\n\n',
    );
  });

  it('leaves TEMPLATE out for a template that does not reduce to fixed pieces, and quotes Go delimiters in literal text', () => {
    const rewriting = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] | upper }}\n{% endfor %}";
    expect(chatTemplateParts(rewriting, TOKENS)).toBeNull();
    expect(modelfile({ gguf: 'model.gguf', chatTemplate: rewriting, tokens: TOKENS, eosTexts: [], controlTexts: [] })).toMatchObject({ template: false, text: 'FROM ./model.gguf\n' });
    const braces = "{% for m in messages %}{{ '{{' + m['role'] + '}}' + m['content'] + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '{{assistant}}' }}{% endif %}";
    const parts = chatTemplateParts(braces, TOKENS)!;
    expect(ollamaTemplate(parts)).toContain('{{ "{{user}}" }}{{ .Content }}');
  });
});

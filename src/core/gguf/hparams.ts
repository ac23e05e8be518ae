/**
 * The `{arch}.*` hyper-parameters llama.cpp's convert_hf_to_gguf.py writes for llama, qwen2 and qwen3
 * (TextModel.set_gguf_parameters, LlamaModel's additions), from our parsed ModelConfig:
 *
 *   {arch}.context_length, .embedding_length, .block_count, .feed_forward_length,
 *   {arch}.attention.head_count, .head_count_kv, .layer_norm_rms_epsilon,
 *   {arch}.attention.key_length / .value_length   when head_dim is not hidden_size / heads,
 *   {arch}.rope.freq_base, and for linear RoPE scaling .rope.scaling.type = "linear" + .rope.scaling.factor,
 *   llama only: {arch}.vocab_size, {arch}.rope.dimension_count (= head_dim).
 *
 * Llama 3 RoPE scaling is not a key: the converter writes a `rope_freqs.weight` tensor [head_dim / 2] of
 * per-frequency divisors (LlamaModel.generate_extra_tensors), which llama.cpp applies as freq factors.
 * Tied embeddings need no key either: llama.cpp falls back to token_embd when `output.weight` is absent.
 */
import { AppError } from '../errors.ts';
import type { GGUFValue } from '../io/gguf-write.ts';
import type { ModelConfig } from '../model/types.ts';

export function architectureMetadata(c: ModelConfig): Array<[string, GGUFValue]> {
  const a = c.architecture;
  const u32 = (value: number): GGUFValue => ({ type: 'uint32', value });
  const out: Array<[string, GGUFValue]> = [];
  if (a === 'llama') out.push([`${a}.vocab_size`, u32(c.vocabSize)]);
  out.push(
    [`${a}.block_count`, u32(c.numLayers)],
    [`${a}.context_length`, u32(c.maxPositionEmbeddings)],
    [`${a}.embedding_length`, u32(c.hiddenSize)],
    [`${a}.feed_forward_length`, u32(c.intermediateSize)],
    [`${a}.attention.head_count`, u32(c.numHeads)],
    [`${a}.attention.head_count_kv`, u32(c.numKvHeads)],
  );
  if (c.ropeScaling.type === 'linear') {
    out.push([`${a}.rope.scaling.type`, { type: 'string', value: 'linear' }], [`${a}.rope.scaling.factor`, { type: 'float32', value: c.ropeScaling.factor }]);
  } else if (c.ropeScaling.type === 'llama3' && a !== 'llama') {
    throw new AppError('unsupported', `unsupported: Llama 3 RoPE scaling on a ${a} model. llama.cpp reads it only for the llama architecture, so the GGUF would compute other numbers.`);
  }
  out.push(
    [`${a}.rope.freq_base`, { type: 'float32', value: c.ropeTheta }],
    [`${a}.attention.layer_norm_rms_epsilon`, { type: 'float32', value: c.rmsNormEps }],
  );
  if (c.headDim * c.numHeads !== c.hiddenSize) {
    out.push([`${a}.attention.key_length`, u32(c.headDim)], [`${a}.attention.value_length`, u32(c.headDim)]);
  }
  if (a === 'llama') out.push([`${a}.rope.dimension_count`, u32(c.headDim)]);
  return out;
}

/**
 * Llama 3 RoPE: the divisor of each rotary frequency (HF's _compute_llama3_parameters, written the way the
 * converter's rope_freqs tensor holds it): 1 for short wavelengths, `factor` for long ones, and a smooth blend
 * between. [head_dim / 2], or null when the config has no Llama 3 scaling.
 */
export function llama3RopeFreqs(c: ModelConfig): Float32Array | null {
  if (c.ropeScaling.type !== 'llama3') return null;
  const { factor, lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings: old } = c.ropeScaling;
  const dim = c.headDim;
  const lowWavelen = old / lowFreqFactor;
  const highWavelen = old / highFreqFactor;
  const out = new Float32Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) {
    const freq = 1 / Math.pow(c.ropeTheta, (2 * i) / dim);
    const wavelen = (2 * Math.PI) / freq;
    if (wavelen < highWavelen) out[i] = 1;
    else if (wavelen > lowWavelen) out[i] = factor;
    else {
      const smooth = (old / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
      out[i] = 1 / ((1 - smooth) / factor + smooth);
    }
  }
  return out;
}

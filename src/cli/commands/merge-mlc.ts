/**
 * `lm merge --format mlc`: a PEFT adapter merged into MLC weights (src/core/mlc/merge.ts).
 *
 * --model is an MLC folder (the adapter is merged into its weights, which keep their quantization), or a
 * Hugging Face folder (it is first converted to MLC at --quantization, then the adapter is merged the same
 * way, so q4 output is the q4 base with the adapted rows requantized). The report says how much of the
 * adapter survived: in weights, and in logits on held-out token rows (base, base + adapter as LoRA, and the
 * merged files, all run by our runtime).
 */
import { writeFile } from 'node:fs/promises';
import { AppError } from '../../core/errors.ts';
import { memorySource } from '../../core/io/memory-source.ts';
import type { ModelSource } from '../../core/io/model-source.ts';
import { nodeDirSource } from '../../core/io/node-dir.ts';
import { writeFilesToFolder } from '../../core/lora/export-node.ts';
import { disposeLora, loadPeftAdapter } from '../../core/lora/peft-load.ts';
import { loraToPlain } from '../../core/lora/tensor-data.ts';
import { exportMlc, hfModelOf } from '../../core/mlc/export.ts';
import { isMlcFolder, loadMlcModel } from '../../core/mlc/load.ts';
import { mergeIntoMlc } from '../../core/mlc/merge.ts';
import { openMlcModel, type MlcModel } from '../../core/mlc/read.ts';
import { heldOutRows, measureRetention } from '../../core/mlc/retention.ts';
import type { MlcQuantization } from '../../core/mlc/types.ts';
import { loadModel } from '../../core/model/load.ts';
import { useNodeBackend } from '../node-backend.ts';
import { checkMlcOut } from './mlc-export.ts';
import { fromFlag } from '../model-export.ts';
import { checkAdapterFolder } from './merge.ts';

export interface MlcMergeFlags {
  model: string;
  adapter: string;
  out: string;
  quantization: MlcQuantization | undefined;
  backend: string | undefined;
  report: string | undefined;
}

async function mlcBase(source: ModelSource, quantization: MlcQuantization | undefined): Promise<MlcModel> {
  if (await isMlcFolder(source)) {
    const base = await openMlcModel(source);
    if (quantization && quantization !== base.chat.quantization) {
      throw new AppError(
        'bad-input',
        `--quantization ${quantization}: ${source.label} is a ${base.chat.quantization} MLC model, and a merged model keeps its base's quantization (so web-llm can run it with the same model library). Omit --quantization, or merge into an MLC build in ${quantization}.`,
      );
    }
    return base;
  }
  if (!quantization) throw new AppError('bad-input', `--model is a Hugging Face folder: say which MLC quantization to write with --quantization.`);
  const model = await loadModel(source);
  try {
    const files = await exportMlc(await hfModelOf(model, source), quantization);
    return openMlcModel(memorySource(`${source.id}:${quantization}`, files, `${source.label} as ${quantization}`));
  } finally {
    model.dispose();
  }
}

export async function runMlcMerge(f: MlcMergeFlags): Promise<void> {
  await checkMlcOut(f.out);
  await checkAdapterFolder(f.adapter);
  const modelSource = await fromFlag('model', () => nodeDirSource(f.model));
  const adapterSource = await fromFlag('adapter', () => nodeDirSource(f.adapter));
  await useNodeBackend(f.backend ?? 'cpu');
  const base = await fromFlag('model', () => mlcBase(modelSource, f.quantization));
  const lora = await fromFlag('adapter', () => loadPeftAdapter(adapterSource, base.chat.config));
  try {
    const { files, report } = await mergeIntoMlc(base, { modules: await loraToPlain(lora), scaling: lora.scaling });
    const baseModel = await loadMlcModel(base.source);
    const merged = await loadMlcModel(memorySource(`merged:${f.out}`, files, 'the merged model'));
    let retention;
    try {
      retention = await measureRetention(baseModel, lora, merged, heldOutRows(base.chat.config.vocabSize));
    } finally {
      merged.dispose();
      baseModel.dispose();
    }
    const full = { ...report, retention };
    await checkMlcOut(f.out);
    const written = await writeFilesToFolder(f.out, files);
    if (f.report) await writeFile(f.report, JSON.stringify(full, null, 2));
    process.stderr.write(
      `merged ${report.mergedModules} projections into ${base.source.label} (${report.quantization}${report.exact ? ', exact' : ', requantized'}): ` +
        `weights kept ${report.weightKept.toFixed(4)}, logits kept ${retention.kept.toFixed(4)} (residual ${retention.residual.toFixed(4)}) on ${retention.rows} held-out rows\n`,
    );
    process.stdout.write(`${written.join('\n')}\n`);
  } finally {
    disposeLora(lora);
  }
}

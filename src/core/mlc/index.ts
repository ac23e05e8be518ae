/** The MLC room's API (see README.md): read, load, merge, export and measure web-llm's model files. */
export { buildMlcChatConfig, parseMlcChatConfig, type MlcChatConfig } from './chat-config.ts';
export { exportMlc, hfModelOf, type HfModel } from './export.ts';
export { isMlcFolder, loadAnyModel, loadMlcModel, MLC_READER } from './load.ts';
export { parseTensorCache } from './manifest.ts';
export { mergeIntoMlc, type MlcMergeReport, type PlainAdapter } from './merge.ts';
export { checkMlcModel, mlcHfTensors, openMlcModel, readMlcModel, type MlcModel } from './read.ts';
export { heldOutRows, measureRetention, type RetentionReport } from './retention.ts';
export * from './types.ts';

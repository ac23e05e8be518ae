/** Moved to src/core/backend/wasm-kernel-fixes.ts (selectBackend installs it for wasm); kept for existing imports. */
export { useWasmKernelFixes } from '../backend/wasm-kernel-fixes.ts';

/**
 * The tfjs engine for the page: wired here once the tfjs engine's page side (src/core/engine/tfjs) exists.
 * Null means "not in this build": choosing tfjs then says so instead of pretending to work.
 */
import type { TfjsBuilder } from './engine-builders.ts';

export const tfjsBuilder: TfjsBuilder | null = null;

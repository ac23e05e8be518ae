/** Node only: the question shape a toy model was trained on, from its training_log.json (default shape if none). */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_SHAPE, type QuestionShape } from '../core/toy/split.ts';

export function toyShapeOf(modelDir: string): QuestionShape {
  const file = join(modelDir, 'training_log.json');
  if (!existsSync(file)) return { ...DEFAULT_SHAPE };
  const log = JSON.parse(readFileSync(file, 'utf8')) as { data?: { shape?: Partial<QuestionShape> } };
  return { ...DEFAULT_SHAPE, ...log.data?.shape };
}

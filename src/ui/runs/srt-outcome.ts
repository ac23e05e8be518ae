/**
 * When an SRT run has nothing to show for it: the critic's loops gave no SFT row and no preference pair, so
 * nothing was trained. The run then ends 'empty' with the reason and what to change, never as a plain success.
 */
import type { KindRegistry } from '../../core/refine/kinds.ts';
import type { SrtMetrics } from '../../core/refine/srt.ts';
import { cutOffAdvice, cutOffSentence } from '../lib/cut-off.ts';
import type { SrtRunConfig } from './srt-runner.ts';

export function srtEmptyReason(m: SrtMetrics, config: Pick<SrtRunConfig, 'settings' | 'budgets'>, registry?: KindRegistry): string | null {
  if (m.sftRows > 0 || m.preferencePairs > 0) return null;
  const s = config.settings;
  const change =
    cutOffAdvice(m.collectCutOff, { answer: ['Answer tokens', s.answerTokens], feedback: ['Critic tokens', s.feedbackTokens] }, config.budgets, registry) ??
    (s.requireImproved
      ? 'Use a stronger critic (a larger model or an endpoint), or untick "Train only on loops the critic improved".'
      : 'Use a stronger critic (a larger model or an endpoint).');
  return (
    `Finished with nothing to train: the critic reviewed ${m.loops} answers and improved ${m.improved}; ${m.kept} loops were kept, ` +
    `giving 0 SFT rows and 0 preference pairs, so no adapter was trained.${cutOffSentence(m.collectCutOff, "critic's feedbacks")} ${change}`
  );
}

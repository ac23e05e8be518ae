/** What an SRT run card says besides its metrics: the settings it used and the answers the token limit cut off. */
import type { Run } from '../../db/types.ts';
import { cutOffCount } from '../lib/cut-off.ts';
import { plural } from '../lib/format.ts';
import { budgetText, countText } from '../lib/run-settings.ts';
import { obj } from '../lib/stored-json.ts';

/** A web-llm actor's models (start, after SFT, after DPO) and what each merge kept; '' for other actors. */
export function srtModelsText(run: Pick<Run, 'progress' | 'metrics'>): string {
  const models = obj(obj(run.progress)?.actorModels);
  if (!models) return '';
  const m = run.metrics.at(-1) ?? { round: 0 };
  const kept = (k: 'Sft' | 'Dpo') => {
    const v = m[`logitsKept${k}`] ?? m[`weightsKept${k}`];
    return m[`mergeExact${k}`] === 1 ? ' (exact merge)' : typeof v === 'number' ? ` (kept ${v.toFixed(3)} of the adapter)` : '';
  };
  const parts = [
    typeof models.start === 'string' ? `start ${models.start}` : '',
    typeof models.sft === 'string' ? `after SFT ${models.sft}${kept('Sft')}` : '',
    typeof models.dpo === 'string' ? `after DPO ${models.dpo}${kept('Dpo')}` : '',
  ].filter(Boolean);
  return parts.length > 0 ? `Models that generated: ${parts.join(' · ')}` : '';
}

export function srtRunFacts(run: Pick<Run, 'config' | 'metrics'>): { settings: string; cutOff: string } {
  const s = obj(run.config.settings) ?? {};
  const settings = [
    countText(s.perRound, 'train prompts reviewed'),
    typeof s.critiqueRounds === 'number' ? plural(s.critiqueRounds, 'critique round') : '',
    budgetText(run.config),
    s.requireImproved === true ? 'trains only on loops the critic improved' : 'trains on every reviewed loop',
    s.dpo === true ? 'SFT then DPO' : 'SFT only',
    s.evaluate === true ? `evaluated on ${countText(s.evalCount, 'held-out prompts')}` : 'not evaluated',
  ].filter(Boolean);
  const m = run.metrics.at(-1);
  const cut = m
    ? [
        cutOffCount(m.answersCutOff, m.answers, 'answers'),
        cutOffCount(m.feedbackCutOff, m.feedbacks, "critic's feedbacks"),
        ...(['start', 'sft', 'dpo'] as const).map((k) => cutOffCount(m[`evalCutOff_${k}`], m[`evalN_${k}`], `held-out answers (${k})`)),
      ].filter(Boolean)
    : [];
  return { settings: settings.join(' · '), cutOff: cut.join(', ') };
}

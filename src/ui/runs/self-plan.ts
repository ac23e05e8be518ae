/**
 * One progress bar across every phase of a SELF run: the phases are laid out in order with a weight each
 * (estimated work: engine calls for loops, rows for training), and a phase's own `done / total` moves the bar
 * through its share. The ETA comes from the time this page has spent and the share it has covered.
 */
import type { SelfPhase } from '../../core/refine/self-rounds.ts';

export interface PlanSegment {
  round: number;
  phase: Exclude<SelfPhase, 'done'>;
  weight: number;
}

export interface PlanShape {
  rounds: number;
  metaSkill: boolean;
  baseline: boolean;
  selfRefineEval: boolean;
  /** Prompts collected per round (and by the meta-skill stage). */
  perRound: number;
  metaCount: number;
  evalCount: number;
}

/** Relative cost per prompt (a draft, a feedback, often a refinement and its feedback). */
const LOOP = 4;
const TRAIN = 2;
const DIRECT = 0.6;

export function selfPlan(s: PlanShape): PlanSegment[] {
  const evalWeight = s.evalCount * (DIRECT + (s.selfRefineEval ? LOOP : 0));
  const out: PlanSegment[] = [];
  if (s.metaSkill) out.push({ round: 0, phase: 'meta-skill', weight: s.metaCount * (LOOP + TRAIN) });
  if (s.baseline) out.push({ round: 0, phase: 'baseline', weight: evalWeight });
  for (let r = 1; r <= s.rounds; r++) {
    out.push({ round: r, phase: 'collect', weight: s.perRound * LOOP });
    out.push({ round: r, phase: 'train', weight: s.perRound * TRAIN });
    out.push({ round: r, phase: 'evaluate', weight: evalWeight });
  }
  return out.map((x) => ({ ...x, weight: Math.max(1, x.weight) }));
}

/** How far into its phase a progress report is: `inside` when the reporter knows it (training, then the merge after it), else done of total. */
export function phaseShare(p: { done: number; total: number; inside?: number }): number {
  if (p.inside !== undefined) return Math.min(1, Math.max(0, p.inside));
  return p.total > 0 ? Math.min(1, Math.max(0, p.done / p.total)) : 0;
}

/** 0..1 across the plan for a progress report of the orchestrator (or a checkpoint position with done = 0). */
export function planFraction(plan: readonly PlanSegment[], at: { round: number; phase: SelfPhase; done: number; total: number; inside?: number }): number {
  const total = plan.reduce((a, s) => a + s.weight, 0);
  if (at.phase === 'done' || total === 0) return 1;
  const i = plan.findIndex((s) => s.round === at.round && s.phase === at.phase);
  if (i < 0) return 0;
  const before = plan.slice(0, i).reduce((a, s) => a + s.weight, 0);
  return Math.min(1, (before + phaseShare(at) * plan[i].weight) / total);
}

/** Milliseconds left, from the share covered since `startFraction` in `elapsedMs`; null until there is a basis. */
export function planEta(fraction: number, startFraction: number, elapsedMs: number): number | null {
  if (fraction >= 1) return 0;
  const covered = fraction - startFraction;
  if (covered <= 0.002 || elapsedMs <= 0) return null;
  return Math.round((elapsedMs / covered) * (1 - fraction));
}

export const PHASE_LABELS: Readonly<Record<SelfPhase, string>> = {
  'meta-skill': 'Meta-skill stage',
  baseline: 'Baseline evaluation',
  collect: 'Answer, self-feedback, self-refine',
  train: 'LoRA training',
  evaluate: 'Evaluation',
  done: 'Done',
};

export function phaseTitle(p: { round: number; phase: SelfPhase }): string {
  return p.round > 0 && p.phase !== 'baseline' && p.phase !== 'meta-skill' ? `Round ${p.round}: ${PHASE_LABELS[p.phase]}` : PHASE_LABELS[p.phase];
}

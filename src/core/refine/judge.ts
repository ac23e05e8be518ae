import type { ChatEngine, ChatMessage, GenerationParams } from '../engine/types.ts';
import { AppError, isAbort } from '../errors.ts';
import { clip } from './prompts.ts';
import { renderTemplate } from './template-render.ts';

/**
 * Pairwise judgement of two answers to an open-ended prompt by a judge engine, with order swapping: the judge
 * sees (first, second) and then (second, first); an answer wins only if it is preferred both times,
 * anything else (disagreement, "tie", an unreadable reply) is a tie. This cancels the judge's position bias.
 */
export interface JudgeTemplate {
  system: string;
  /** {prompt} {answer_a} {answer_b} */
  compare: string;
}

export const DEFAULT_JUDGE_TEMPLATE: JudgeTemplate = {
  system: 'You are an impartial judge of answer quality.',
  compare: `Which response answers the request better? Consider helpfulness, accuracy, clarity and completeness. Ignore the order in which they appear and their length.

Request: {prompt}

[Response A]
{answer_a}
[End of response A]

[Response B]
{answer_b}
[End of response B]

Explain briefly, then end with your verdict on its own line: [[A]] if A is better, [[B]] if B is better, [[C]] for a tie.`,
};

export type JudgeChoice = 'A' | 'B' | 'tie' | 'unknown';

/** Reads a judge's reply: "[[A]]", "Winner: B", "Response A is better", "tie", a bare "B". */
export function parseJudgement(text: string): JudgeChoice {
  const t = text.replace(/\*\*|__/g, '');
  const bracket = [...t.matchAll(/\[\[\s*(A|B|C|tie)\s*\]\]/gi)];
  if (bracket.length > 0) {
    const v = bracket[bracket.length - 1][1].toUpperCase();
    return v === 'A' ? 'A' : v === 'B' ? 'B' : 'tie';
  }
  const found = new Set<JudgeChoice>();
  for (const m of t.matchAll(/\b(?:winner|better(?: response| answer)?|verdict|choice|preferred(?: response)?|final answer)\s*(?:is|:|-)\s*(?:response |answer |assistant |option )?\(?([AB])\b/gi)) {
    found.add(m[1].toUpperCase() as 'A' | 'B');
  }
  for (const m of t.matchAll(/\b(?:response|answer|assistant|option)\s*\(?([AB])\)?\s*(?:is|was)\s*(?:clearly |slightly |much |significantly )?(?:better|stronger|preferred|superior|more helpful)/gi)) {
    found.add(m[1].toUpperCase() as 'A' | 'B');
  }
  if (/\b(?:it'?s a tie|tie\b|equally (?:good|bad|helpful)|both (?:are )?(?:equally|the same)|neither is better)/i.test(t)) found.add('tie');
  const bare = /^\s*\(?([AB])\)?[.!]?\s*$/i.exec(t);
  if (bare) found.add(bare[1].toUpperCase() as 'A' | 'B');
  return found.size === 1 ? [...found][0] : 'unknown';
}

export type PairOutcome = 'first' | 'second' | 'tie';

export interface PairwiseJudgement {
  outcome: PairOutcome;
  /** Both orders agreed (on a winner, or on a tie). */
  consistent: boolean;
  /** Choice with the first answer shown as A, and with it shown as B. */
  choiceFirstAsA: JudgeChoice;
  choiceFirstAsB: JudgeChoice;
  rawFirstAsA: string;
  rawFirstAsB: string;
}

export interface JudgePairOptions {
  judge: ChatEngine;
  prompt: string;
  first: string;
  second: string;
  template?: JudgeTemplate;
  params?: GenerationParams;
  adapterId?: string | null;
  signal?: AbortSignal;
}

function messages(t: JudgeTemplate, prompt: string, a: string, b: string): ChatMessage[] {
  const out: ChatMessage[] = [];
  if (t.system.trim() !== '') out.push({ role: 'system', content: t.system });
  out.push({ role: 'user', content: renderTemplate(t.compare, { prompt, answer_a: clip(a), answer_b: clip(b) }) });
  return out;
}

/** Combines the two orders: a win only when consistent. */
export function combineOrders(firstAsA: JudgeChoice, firstAsB: JudgeChoice): { outcome: PairOutcome; consistent: boolean } {
  if (firstAsA === 'A' && firstAsB === 'B') return { outcome: 'first', consistent: true };
  if (firstAsA === 'B' && firstAsB === 'A') return { outcome: 'second', consistent: true };
  return { outcome: 'tie', consistent: firstAsA === 'tie' && firstAsB === 'tie' };
}

export async function judgePair(o: JudgePairOptions): Promise<PairwiseJudgement> {
  const t = o.template ?? DEFAULT_JUDGE_TEMPLATE;
  const ask = async (a: string, b: string) => {
    try {
      const r = await o.judge.chat({ ...o.params, messages: messages(t, o.prompt, a, b), adapterId: o.adapterId ?? null, signal: o.signal });
      if (r.finishReason === 'abort' || o.signal?.aborted) throw new AppError('aborted', 'Stopped.');
      return r.text;
    } catch (e) {
      if (isAbort(e) || o.signal?.aborted) throw new AppError('aborted', 'Stopped.');
      throw e;
    }
  };
  const rawFirstAsA = await ask(o.first, o.second);
  const rawFirstAsB = await ask(o.second, o.first);
  const choiceFirstAsA = parseJudgement(rawFirstAsA);
  const choiceFirstAsB = parseJudgement(rawFirstAsB);
  return { ...combineOrders(choiceFirstAsA, choiceFirstAsB), choiceFirstAsA, choiceFirstAsB, rawFirstAsA, rawFirstAsB };
}

export interface WinRates {
  n: number;
  wins: number;
  ties: number;
  losses: number;
  winRate: number;
  tieRate: number;
  lossRate: number;
}

/** Rates from the point of view of `first` (wins = first preferred). */
export function winRates(outcomes: readonly PairOutcome[]): WinRates {
  const n = outcomes.length;
  const wins = outcomes.filter((o) => o === 'first').length;
  const losses = outcomes.filter((o) => o === 'second').length;
  const ties = n - wins - losses;
  const rate = (k: number) => (n === 0 ? 0 : k / n);
  return { n, wins, ties, losses, winRate: rate(wins), tieRate: rate(ties), lossRate: rate(losses) };
}

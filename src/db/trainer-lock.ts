/**
 * One trainer per origin: a Training-tab run, a SELF run or an SRT run (each trains LoRA adapters on a model
 * of its own tab) holds the Web Lock `trainer` for as long as it works, across every tab of this site, so two
 * tabs never train at once on one machine. Inside it the job also holds `trainer-holder:<job as JSON>`, whose
 * name tells the other tabs what holds the trainer (Web Locks lists the names of held locks, nothing more).
 * The browser releases both when the tab closes, reloads or crashes.
 *
 *   tab A: request('trainer', ifAvailable) → granted → request('trainer-holder:{…}') → work → release both
 *   tab B: request('trainer', ifAvailable) → not granted → query() names A's job → "wait" = request('trainer')
 */

/** What a tab holds the trainer for. `runId` is the run it resumes (null for a new run). */
export interface TrainerJob {
  kind: 'train' | 'resume-training' | 'self' | 'resume-self' | 'srt' | 'resume-srt';
  experimentId: string;
  runId: string | null;
  /** A name for people (the adapter a new training run makes), when there is one. */
  label?: string | null;
}

/** The part of `navigator.locks` used here (the options form of request). */
export interface TrainerLockManager {
  request<T>(name: string, options: { ifAvailable?: boolean; signal?: AbortSignal }, callback: (lock: { name: string } | null) => Promise<T>): Promise<T>;
  query(): Promise<{ held?: { name?: string }[] }>;
}

export const TRAINER_LOCK = 'trainer';
const HOLDER_PREFIX = 'trainer-holder:';
const KINDS: readonly TrainerJob['kind'][] = ['train', 'resume-training', 'self', 'resume-self', 'srt', 'resume-srt'];

/** Holder lock names this page holds (so a page can tell its own jobs from other tabs'). */
const heldHere = new Set<string>();

export function holderLockName(job: TrainerJob): string {
  return HOLDER_PREFIX + JSON.stringify({ kind: job.kind, experimentId: job.experimentId, runId: job.runId, label: job.label ?? null });
}

/** The job a holder lock name stands for, or null when the name is not one. */
export function parseHolderLockName(name: string): TrainerJob | null {
  if (!name.startsWith(HOLDER_PREFIX)) return null;
  try {
    const o = JSON.parse(name.slice(HOLDER_PREFIX.length)) as Partial<TrainerJob>;
    if (!KINDS.includes(o.kind as TrainerJob['kind']) || typeof o.experimentId !== 'string') return null;
    return { kind: o.kind as TrainerJob['kind'], experimentId: o.experimentId, runId: typeof o.runId === 'string' ? o.runId : null, label: typeof o.label === 'string' ? o.label : null };
  } catch {
    return null;
  }
}

export interface TrainerHolder {
  /** What holds it, or null while its tab is between taking the trainer and naming its job. */
  job: TrainerJob | null;
  /** Held by this page (say, a SELF run of another experiment in this tab), not by another tab. */
  here: boolean;
}

/** Who holds the trainer now, or null when nobody does. */
export async function trainerHolder(locks: TrainerLockManager): Promise<TrainerHolder | null> {
  const names = ((await locks.query()).held ?? []).map((l) => l.name ?? '');
  if (!names.includes(TRAINER_LOCK)) return null;
  const name = names.find((n) => parseHolderLockName(n) !== null);
  return name ? { job: parseHolderLockName(name), here: heldHere.has(name) } : { job: null, here: false };
}

export type TrainerOutcome<T> = { kind: 'done'; value: T } | { kind: 'busy'; holder: TrainerHolder | null };

/**
 * Runs `work` holding the trainer. Without `wait`, returns at once with `busy` (and who holds it) when another
 * job has it; with `wait`, queues for it (`signal` gives up waiting: an AbortError). Errors of `work` pass.
 */
export async function withTrainer<T>(
  locks: TrainerLockManager,
  job: TrainerJob,
  work: () => Promise<T>,
  options: { wait?: boolean; signal?: AbortSignal } = {},
): Promise<TrainerOutcome<T>> {
  const name = holderLockName(job);
  const held = async (lock: { name: string } | null): Promise<TrainerOutcome<T> | null> => {
    if (!lock) return null;
    return locks.request(name, {}, async () => {
      heldHere.add(name);
      try {
        return { kind: 'done', value: await work() };
      } finally {
        heldHere.delete(name);
      }
    });
  };
  const out = options.wait
    ? await locks.request(TRAINER_LOCK, options.signal ? { signal: options.signal } : {}, held)
    : await locks.request(TRAINER_LOCK, { ifAvailable: true }, held);
  return out ?? { kind: 'busy', holder: await trainerHolder(locks) };
}

/**
 * One trainer per origin (db/trainer-lock.ts) on in-memory Web Locks shared by two "tabs": a second job is
 * refused at once with the holder named, can wait and then runs after the first, can give up waiting; the
 * tab's gate says in words what holds the trainer and offers no wait when it is the very run asked for.
 */
import { describe, expect, it } from 'vitest';
import { createExperiment } from '../../src/db/experiments.ts';
import { holderLockName, parseHolderLockName, trainerHolder, withTrainer, type TrainerJob } from '../../src/db/trainer-lock.ts';
import { TrainerGate } from '../../src/ui/training/trainer-gate.svelte.ts';
import { describeHolder } from '../../src/ui/training/trainer-holder.ts';
import { FakeLocks } from './db-helpers.ts';
import { uiDb } from './ui-self-fakes.ts';

const train = (experimentId: string, label: string | null = 'My adapter'): TrainerJob => ({ kind: 'train', experimentId, runId: null, label });

/** Starts a job that holds the trainer until `release` is called. */
function holding(locks: FakeLocks, job: TrainerJob) {
  let release!: () => void;
  let started!: () => void;
  const running = new Promise<void>((r) => (started = r));
  const done = withTrainer(locks, job, () => {
    started();
    return new Promise<string>((r) => (release = () => r('first')));
  });
  return { running, done, release: () => release() };
}

describe('trainer lock', () => {
  it('names jobs in lock names and reads them back; other names are not holders', () => {
    const job: TrainerJob = { kind: 'resume-training', experimentId: 'e1', runId: 't1', label: null };
    expect(parseHolderLockName(holderLockName(job))).toEqual(job);
    expect(parseHolderLockName('training-run:t1')).toBeNull();
    expect(parseHolderLockName('trainer-holder:{"kind":"mine","experimentId":"e"}')).toBeNull();
    expect(parseHolderLockName('trainer-holder:not json')).toBeNull();
  });

  it('a second job is refused at once with the holder named; the first goes on; a third after it is granted', async () => {
    const locks = new FakeLocks();
    const first = holding(locks, train('e1'));
    await first.running;
    expect(await trainerHolder(locks)).toEqual({ job: train('e1'), here: true });
    let ran = false;
    const second = await withTrainer(locks, { kind: 'self', experimentId: 'e2', runId: null }, async () => void (ran = true));
    expect(second).toEqual({ kind: 'busy', holder: { job: train('e1'), here: true } });
    expect(ran).toBe(false);
    first.release();
    expect(await first.done).toEqual({ kind: 'done', value: 'first' });
    expect(await trainerHolder(locks)).toBeNull();
    expect(await withTrainer(locks, train('e2'), async () => 3)).toEqual({ kind: 'done', value: 3 });
  });

  it('waiting queues behind the holder and runs after it; giving up the wait starts nothing', async () => {
    const locks = new FakeLocks();
    const order: string[] = [];
    const first = holding(locks, train('e1'));
    await first.running;
    const waited = withTrainer(locks, train('e1', 'second'), async () => void order.push('second'), { wait: true });
    const stop = new AbortController();
    const givenUp = withTrainer(locks, train('e1', 'third'), async () => void order.push('third'), { wait: true, signal: stop.signal });
    stop.abort();
    await expect(givenUp).rejects.toMatchObject({ name: 'AbortError' });
    order.push('first ends');
    first.release();
    await first.done;
    expect(await waited).toEqual({ kind: 'done', value: undefined });
    expect(order).toEqual(['first ends', 'second']);
  });
});

describe('trainer gate', () => {
  it('says which run holds the trainer, waits for it, then runs the refused job', async () => {
    const db = await uiDb();
    const exp = await createExperiment(db, { name: 'Toy arithmetic' });
    const other = await createExperiment(db, { name: 'Other' });
    const locks = new FakeLocks();
    const gate = new TrainerGate(db, () => locks);
    const first = holding(locks, train(other.id));
    await first.running;
    let ran = 0;
    expect(await gate.run(train(exp.id), async () => void ran++)).toBe(false);
    expect(ran).toBe(0);
    expect(gate.refused).toMatchObject({ canWait: true, text: 'The trainer is busy: a training run (“My adapter”) of “Other” is running in this tab. One training job runs at a time in this browser.' });
    const waiting = gate.wait();
    await new Promise((r) => setTimeout(r, 5));
    expect(gate.waiting?.waitText).toBe('Waiting for the trainer: a training run (“My adapter”) of “Other” is running in this tab; this job starts when it ends.');
    expect(ran).toBe(0);
    first.release();
    await waiting;
    expect(ran).toBe(1);
    expect(gate.waiting).toBeNull();
  });

  it('the same run resumed elsewhere: no wait offered; unnamed and SELF holders in words', async () => {
    const db = await uiDb();
    const exp = await createExperiment(db, { name: 'E' });
    const resume: TrainerJob = { kind: 'resume-training', experimentId: exp.id, runId: 't1' };
    expect(await describeHolder(db, { job: resume, here: false }, resume)).toEqual({
      text: 'This run is already being resumed in another tab; it is not started a second time.',
      waitText: 'This run is already being resumed in another tab; it is not started a second time.',
      canWait: false,
    });
    expect((await describeHolder(db, { job: null, here: false }, resume)).text).toBe('The trainer is busy: a training job is starting in another tab. One training job runs at a time in this browser.');
    expect((await describeHolder(db, { job: { kind: 'self', experimentId: exp.id, runId: null }, here: false }, resume)).text).toBe(
      'The trainer is busy: a SELF run of this experiment is running in another tab. One training job runs at a time in this browser.',
    );
  });
});

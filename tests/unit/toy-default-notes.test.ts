/**
 * The SELF and SRT tabs explain the toy model's defaults one line each: every field of the defaults is covered by a
 * line (a new setting without an explanation fails here), no line names a field that does not exist, and the
 * values shown are the defaults' own.
 */
import { describe, expect, it } from 'vitest';
import { toySelfNotes } from '../../src/ui/self/toy-self-notes.ts';
import { toySelfSettings } from '../../src/ui/self/self-settings.ts';
import { toySrtNotes } from '../../src/ui/srt/toy-srt-notes.ts';
import { defaultSrtSettings } from '../../src/ui/srt/srt-settings.ts';
import { toyTrainNotes } from '../../src/ui/training/toy-train-notes.ts';
import { TOY_MODEL, toyTrainForm } from '../../src/ui/training/train-form.ts';
import { TOY_SELF_DEFAULTS } from '../../src/core/toy/self-experiment.ts';
import type { DefaultNote } from '../../src/ui/lib/default-notes.ts';

const covered = (notes: readonly DefaultNote[]) => notes.flatMap((n) => n.keys).sort();

describe('the toy defaults, explained one line each', () => {
  it('SELF: one line covers each setting (the training fields have their own lines)', () => {
    const s = toySelfSettings();
    expect(covered(toySelfNotes(s))).toEqual(Object.keys(s).filter((k) => k !== 'train').sort());
    expect(covered(toyTrainNotes(s.train))).toEqual(Object.keys(s.train).sort());
  });

  it('SRT: one line covers each setting, and its SFT and DPO forms have their own lines', () => {
    const s = defaultSrtSettings(TOY_MODEL);
    expect(covered(toySrtNotes(s))).toEqual(Object.keys(s).sort());
    expect(covered(toyTrainNotes(s.dpoTrain, 'dpo'))).toEqual(Object.keys(s.dpoTrain).sort());
  });

  it('shows the defaults’ own values, each with a reason', () => {
    const self = toySelfNotes(toySelfSettings());
    const line = (notes: DefaultNote[], setting: string) => notes.find((n) => n.setting === setting);
    expect(line(self, 'SELF rounds')?.value).toBe(String(TOY_SELF_DEFAULTS.rounds));
    expect(line(self, 'Train prompts per round')?.value).toBe(`${TOY_SELF_DEFAULTS.perRound}, new ones each round`);
    expect(line(self, 'Batch size')?.value).toBe(String(TOY_SELF_DEFAULTS.batchSize));
    expect(line(self, 'Keep a loop when')?.value).toBe('its final feedback says "correct"');
    const train = toyTrainNotes(toyTrainForm());
    expect(line(train, 'Length and rate')?.value).toBe('3 epochs at a constant 1e−3, 0 warm-up steps');
    expect(line(train, 'Checkpoints')?.value).toBe('none');
    const dpo = toyTrainNotes(defaultSrtSettings(TOY_MODEL).dpoTrain, 'dpo');
    expect(line(dpo, 'Sequence length')?.value).toBe('128 tokens, rows batched by length');
    expect(line(toySrtNotes(defaultSrtSettings(TOY_MODEL)), 'DPO')?.value).toBe('rate 5e−5 (a twentieth of SFT’s), 128-token rows, β 0.1');
    for (const n of [...self, ...train, ...dpo]) expect(n.why.length).toBeGreaterThan(20);
  });
});

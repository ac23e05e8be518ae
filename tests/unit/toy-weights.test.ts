/**
 * The fingerprint of the weights a toy bench record was measured on (src/core/toy/weights-fingerprint.ts,
 * src/cli/toy-weights.ts): SHA-256 of model.safetensors, stored by toySelfRecord / toySrtRecord, compared by
 * the Evaluation tab (src/ui/evaluation/bench-weights.ts): the same weights, other weights, or a record without
 * a fingerprint ("unknown version"). The committed records must name the committed weights when they name any.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { folderWeights, weightsChangedSince } from '../../src/cli/toy-weights.ts';
import { toySrtRecord } from '../../src/core/toy/comparison.ts';
import type { ToySelfResult } from '../../src/core/toy/self-experiment.ts';
import { toySelfRecord } from '../../src/core/toy/self-summary.ts';
import type { ToySrtResult } from '../../src/core/toy/srt-experiment.ts';
import { recordedWeights, weightsFingerprint, weightsMatch, weightsSentence, type WeightsFingerprint } from '../../src/core/toy/weights-fingerprint.ts';
import { benchWeights } from '../../src/ui/evaluation/bench-weights.ts';
import { REPO_ROOT } from '../fixtures/paths.ts';

const TOY = join(REPO_ROOT, 'public', 'models', 'toy-arith');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const fp = (c: string, bytes = 100): WeightsFingerprint => ({ file: 'model.safetensors', sha256: c.repeat(64 / c.length), bytes });

const scores = { direct: 0.5, refined: 0.6, verdict: 0.7, caught: 0.8, falseAlarm: 0.1 };
const selfResult: ToySelfResult = {
  seed: 21,
  rounds: [{ round: 0, adapterId: null, ...scores, evalTasks: 10, collect: null, train: null, seconds: { collect: 0, train: 0, evaluate: 1, total: 1 } }],
};
const srtResult = { seed: 21, base: scores, runs: [] } as unknown as ToySrtResult;

describe('weights fingerprint', () => {
  it('is the SHA-256 and size of the bytes (checked against node:crypto)', async () => {
    const bytes = new Uint8Array(readFileSync(join(TOY, 'model.safetensors')));
    expect(await weightsFingerprint(bytes)).toEqual({ file: 'model.safetensors', sha256: sha(bytes), bytes: bytes.length });
    expect((await weightsFingerprint(new Uint8Array(0))).sha256).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(await folderWeights(TOY)).toEqual(await weightsFingerprint(bytes));
  });

  it('is stored in both records as given', () => {
    const w = fp('ab');
    const self = toySelfRecord('cmd', { a: 1 }, [selfResult], w);
    expect(self.weights).toEqual(w);
    expect(recordedWeights(JSON.parse(JSON.stringify(self)))).toEqual(w);
    const srt = toySrtRecord('cmd', { b: 2 }, [srtResult], w);
    expect(srt).toEqual({ command: 'cmd', settings: { b: 2 }, weights: w, results: [srtResult] });
  });

  it('reads a record without (or with a malformed) fingerprint as unknown', () => {
    expect(recordedWeights({ command: 'old', results: [] })).toBeNull();
    expect(recordedWeights(null)).toBeNull();
    expect(recordedWeights({ weights: { file: 'model.safetensors', sha256: 'ABC', bytes: 1 } })).toBeNull();
    expect(recordedWeights({ weights: { ...fp('ab'), bytes: -1 } })).toBeNull();
    expect(weightsMatch(null, fp('ab'))).toBe('unknown');
    expect(weightsSentence(null, fp('ab'))).toMatch(/^measured on weights of unknown version/);
  });

  it('compares: same, other, unread', () => {
    expect(weightsMatch(fp('ab'), fp('ab'))).toBe('same');
    expect(weightsMatch(fp('ab'), fp('cd'))).toBe('other');
    expect(weightsMatch(fp('ab', 100), fp('ab', 101))).toBe('other');
    expect(weightsMatch(fp('ab'), null)).toBe('unread');
    expect(weightsSentence(fp('ab'), fp('ab'))).toBe("measured on this model's weights, the ones the app loads (model.safetensors SHA-256 abababababab…).");
    expect(weightsSentence(fp('ab'), fp('cd'))).toBe("measured on other weights (SHA-256 abababababab…) than the ones the app loads for this model (cdcdcdcdcdcd…): not this model's numbers.");
  });

  it('refuses to label results when the folder changed during the run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'toy-weights-'));
    try {
      writeFileSync(join(dir, 'model.safetensors'), 'one');
      const before = await folderWeights(dir);
      expect(await weightsChangedSince(dir, before)).toBeNull();
      writeFileSync(join(dir, 'model.safetensors'), 'two');
      expect(await weightsChangedSince(dir, before)).toMatch(/model\.safetensors changed while the experiment ran \(SHA-256 [0-9a-f]{12}… at the start, [0-9a-f]{12}… now\): the results are not stored/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the Evaluation tab's words on the reference's weights", () => {
  const self = (w?: WeightsFingerprint) => ({ results: [], ...(w ? { weights: w } : {}) });
  it('calls it this model only when every record names the loaded weights', () => {
    const same = benchWeights(self(fp('ab')), self(fp('ab')), fp('ab'));
    expect(same).toMatchObject({ match: 'same', words: 'on this model', srtComparable: true });
    expect(same.records.map((r) => [r.file, r.match])).toEqual([['self_eval.json', 'same'], ['srt_eval.json', 'same']]);
    expect(same.records[0].text).toMatch(/^SELF numbers \(self_eval.json\): measured on this model's weights/);

    const old = benchWeights(self(), null, fp('ab'));
    expect(old).toMatchObject({ match: 'unknown', words: 'on weights of unknown version', srtComparable: true });
    expect(old.records).toHaveLength(1);

    const other = benchWeights(self(fp('cd')), null, fp('ab'));
    expect(other).toMatchObject({ match: 'other', words: 'on other weights than this model' });
    expect(other.records[0].text).toMatch(/not this model's numbers/);

    // The worst record decides: SELF on these weights, SRT on unknown ones → unknown; SRT on others → other.
    expect(benchWeights(self(fp('ab')), self(), fp('ab')).match).toBe('unknown');
    expect(benchWeights(self(fp('ab')), self(fp('cd')), fp('ab')).match).toBe('other');
    expect(benchWeights(self(fp('ab')), null, null).match).toBe('unread');
  });

  it('keeps SRT out of the SELF table when the two records name different weights', () => {
    expect(benchWeights(self(fp('ab')), self(fp('cd')), fp('ab')).srtComparable).toBe(false);
    expect(benchWeights(self(fp('ab')), self(), fp('ab')).srtComparable).toBe(true);
    expect(benchWeights(self(fp('cd')), self(fp('cd')), fp('ab')).srtComparable).toBe(true);
  });
});

describe('the committed records', () => {
  it('name the committed weights, when they name any', () => {
    const model = { file: 'model.safetensors', sha256: sha(readFileSync(join(TOY, 'model.safetensors'))), bytes: readFileSync(join(TOY, 'model.safetensors')).length };
    for (const file of ['self_eval.json', 'srt_eval.json']) {
      if (!existsSync(join(TOY, file))) continue;
      const w = recordedWeights(JSON.parse(readFileSync(join(TOY, file), 'utf8')));
      if (w) expect(w, `${file} was measured on other weights than public/models/toy-arith/model.safetensors: run npm run bench -- --only ${file === 'self_eval.json' ? 'toy-self' : 'toy-srt'}`).toEqual(model);
    }
  });
});

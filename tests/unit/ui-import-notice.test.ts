/** What the app says after a bundle import: every kind of row (training runs included), and where SELF/SRT runs keep their loops. */
import { describe, expect, it } from 'vitest';
import type { Run } from '../../src/db/types.ts';
import { importNotice, keptLoops } from '../../src/ui/experiments/import-notice.ts';

const counts = { tasks: 601, runs: 3, steps: 363, samples: 0, trainingRuns: 1, adapters: 1 };

describe('the bundle import notice', () => {
  it('names the training runs, and the loops SELF and SRT kept (not "0 samples" alone)', () => {
    const runs: Pick<Run, 'kind' | 'metrics'>[] = [
      { kind: 'self', metrics: [{ round: 0 }, { round: 1, kept: 12, loops: 20 }] },
      { kind: 'self', metrics: [{ round: 0 }] },
      { kind: 'srt', metrics: [{ round: 0, kept: 5 }] },
      { kind: 'batch', metrics: [] },
    ];
    expect(keptLoops(runs)).toEqual({ kept: 17, runs: 2 });
    expect(importNotice('Toy', counts, runs)).toBe(
      'Imported “Toy” with 601 tasks, 3 runs, 363 steps, 0 samples, 1 training run and 1 adapter. ' +
        'Its 2 SELF/SRT runs kept 17 loops for training; they are stored with the runs, not as samples (collect them on the Samples tab to export or retrain them).',
    );
    expect(importNotice('Empty', { ...counts, trainingRuns: 0 }, [])).toBe('Imported “Empty” with 601 tasks, 3 runs, 363 steps, 0 samples, 0 training runs and 1 adapter.');
  });
});

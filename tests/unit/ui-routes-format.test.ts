import { describe, expect, it } from 'vitest';
import { hrefFor, parseHash, type Route } from '../../src/ui/routes.ts';
import { formatBytes, formatDuration, formatShare, plural } from '../../src/ui/lib/format.ts';
import { describeError } from '../../src/ui/lib/errors.ts';
import { AppError } from '../../src/core/errors.ts';

describe('hash routes', () => {
  it('parses every page', () => {
    expect(parseHash('')).toEqual({ page: 'experiments' });
    expect(parseHash('#/')).toEqual({ page: 'experiments' });
    expect(parseHash('#/settings')).toEqual({ page: 'settings' });
    expect(parseHash('#/experiments/abc')).toEqual({ page: 'experiment', id: 'abc', tab: null });
    expect(parseHash('#/experiments/abc/playground')).toEqual({ page: 'experiment', id: 'abc', tab: 'playground' });
    expect(parseHash('#/experiments/a%2Fb/x')).toEqual({ page: 'experiment', id: 'a/b', tab: 'x' });
    expect(parseHash('#/nowhere')).toEqual({ page: 'not-found', hash: '#/nowhere' });
    expect(parseHash('#/experiments/%E0%A4%A/x')).toMatchObject({ page: 'not-found' });
    expect(parseHash('#/experiments/a/b/c')).toMatchObject({ page: 'not-found' });
  });

  it('builds hashes that parse back to the same route', () => {
    const routes: Route[] = [
      { page: 'experiments' },
      { page: 'settings' },
      { page: 'experiment', id: '018f-x', tab: null },
      { page: 'experiment', id: 'weird/id ?#', tab: 'overview' },
    ];
    for (const r of routes) expect(parseHash(hrefFor(r))).toEqual(r);
  });
});

describe('formatting', () => {
  it('formats sizes, shares, durations and counts', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(20 * 2 ** 20)).toBe('20 MB');
    expect(formatBytes(null)).toBe('unknown');
    expect(formatShare(50, 1000)).toBe('5.0 %');
    expect(formatShare(500, 1000)).toBe('50 %');
    expect(formatShare(null, 1000)).toBe('unknown');
    expect(formatDuration(65_000)).toBe('1 min 5 s');
    expect(formatDuration(3_700_000)).toBe('1 h 1 min');
    expect(plural(1, 'run')).toBe('1 run');
    expect(plural(3, 'entry', 'entries')).toBe('3 entries');
  });

  it('turns any error into a message for a person', () => {
    expect(describeError(new AppError('bundle-invalid', 'Bad file.'))).toEqual({ code: 'bundle-invalid', message: 'Bad file.' });
    expect(describeError(new DOMException('full', 'QuotaExceededError'), 'import the bundle')).toMatchObject({
      code: 'quota-exceeded',
      message: expect.stringContaining('Could not import the bundle'),
    });
    expect(describeError(new Error('boom'), 'save')).toEqual({
      code: 'internal',
      message: 'Something went wrong while trying to save: boom. Try again; if it keeps happening, reload the page.',
    });
  });
});

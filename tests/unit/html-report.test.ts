/**
 * The HTML run report (issue 11): one self-contained file, text only. Model output that holds markup — a
 * <script>, an <img onerror> — comes out escaped, so the file has no script and no element the model wrote;
 * charts are inline SVG; figures that do not exist are named as such instead of dashes.
 */
import { describe, expect, it } from 'vitest';
import type { StepRecord } from '../../src/core/refine/types.ts';
import type { Task } from '../../src/core/tasks/types.ts';
import type { Run } from '../../src/db/types.ts';
import { escapeHtml } from '../../src/ui/report/html-report.ts';
import { refineRunReport, selfRunReport } from '../../src/ui/report/run-report.ts';
import { runReportFile } from '../../src/ui/report/run-report-file.ts';
import { createExperiment } from '../../src/db/experiments.ts';
import { appendRunMetric, createRun } from '../../src/db/runs.ts';
import { freshDb } from './db-helpers.ts';

const HOSTILE = '<script>alert(1)</script><img src=x onerror="alert(2)"> & "quotes"';

const run = (over: Partial<Run> = {}): Run => ({
  id: 'r1',
  experimentId: 'e1',
  kind: 'refine',
  status: 'done',
  config: {},
  progress: null,
  metrics: [],
  startedAt: Date.UTC(2026, 0, 2, 3, 4),
  updatedAt: 0,
  finishedAt: null,
  error: null,
  ...over,
});

const step = (kind: StepRecord['kind'], refineRound: number, text: string) => ({ kind, refineRound, text }) as StepRecord;

describe('HTML run report', () => {
  it('escapes model output, prompts and names: no script, no element from the text', () => {
    const task = { id: 't1', kind: 'open', prompt: `Say ${HOSTILE}`, split: 'train' } as unknown as Task;
    const html = refineRunReport(run(), `Class <b>7</b>`, [{ task, steps: [step('draft', 0, HOSTILE), step('feedback', 0, 'fine'), step('refinement', 1, `${HOSTILE}!`)], stop: 'max-rounds' }], null);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<img/i);
    expect(html).not.toContain('<b>7</b>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&quot;alert(2)&quot;&gt; &amp; &quot;quotes&quot;');
    expect(html).toContain('Class &lt;b&gt;7&lt;/b&gt;');
    // Scripts are forbidden by the file itself too.
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'"`);
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('Refined answer');
  });

  it('a SELF run: accuracy per round as inline SVG and a table with words for what was not measured', () => {
    const html = selfRunReport(
      run({ kind: 'self', metrics: [{ round: 0, evalTasks: 8, directAccuracy: 0.5 }, { round: 1, evalTasks: 8, directAccuracy: 0.875, refinedAccuracy: 0.75, kept: 6, loops: 8, trainLoss: 0.4321 }] }),
      'Toy',
    );
    expect(html).toContain('<svg xmlns="http://www.w3.org/2000/svg"');
    // Direct accuracy is a line over two rounds; refined accuracy has one point, drawn as a dot.
    expect(html.match(/<path d="M[^"]* L[^"]*"/g)).toHaveLength(1);
    expect(html.match(/<circle/g)).toHaveLength(1);
    expect(html).toContain('<td>88 %</td>');
    expect(html).toContain('<td>6 of 8</td>');
    expect(html).toContain('<td>0.432</td>');
    expect(html).toContain('not measured');
    expect(html).not.toContain('—');
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });

  it('escapeHtml covers the five characters of markup', () => {
    expect(escapeHtml(`<>&"'`)).toBe('&lt;&gt;&amp;&quot;&#39;');
  });

  it('the report file of a stored run (what the SELF tab and presentation mode download), by its kind', async () => {
    const db = await freshDb();
    const exp = await createExperiment(db, { name: 'Class <7>', modelId: 'toy-arith' });
    const self = await createRun(db, { experimentId: exp.id, kind: 'self' });
    await appendRunMetric(db, self.id, { round: 0, evalTasks: 8, directAccuracy: 0.25 });
    await appendRunMetric(db, self.id, { round: 1, evalTasks: 8, directAccuracy: 0.5 });
    const file = await runReportFile(db, self.id);
    expect(file.name).toBe('Class <7>');
    expect(file.run.id).toBe(self.id);
    expect(file.html).toContain('Class &lt;7&gt;');
    expect(file.html).toContain('<td>50 %</td>');
    const evalRun = await createRun(db, { experimentId: exp.id, kind: 'eval' });
    await expect(runReportFile(db, evalRun.id)).rejects.toMatchObject({ code: 'unsupported' });
    await expect(runReportFile(db, 'gone')).rejects.toMatchObject({ code: 'not-found' });
    db.close();
  });
});

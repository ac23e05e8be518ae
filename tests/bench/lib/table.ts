/** One plain-text table of benchmark rows. */
import type { BenchRow } from './types.ts';

export function formatTable(rows: readonly BenchRow[]): string {
  const header = ['suite', 'env', 'backend', 'metric', 'value', 'unit', 'note'];
  const cells = rows.map((r) => [r.suite, r.env, r.backend, r.metric, formatValue(r.value, r.unit), r.unit, r.note ?? '']);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]): string => c.map((x, i) => (i === 4 ? x.padStart(widths[i]) : x.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

function formatValue(v: number, unit: string): string {
  if (!Number.isFinite(v)) return String(v);
  if (unit === 'ratio') return v.toFixed(3);
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2);
}

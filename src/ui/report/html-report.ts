/**
 * A run as one self-contained HTML file a teacher can hand out: text only (every value written through
 * escapeHtml, model output included), charts as inline SVG, a style block, no scripts, no external files, and a
 * Content-Security-Policy that forbids scripts even if something slipped through.
 */
import { chartGeometry, thinPoints, type ChartSeries } from '../components/line-chart.ts';

export interface ReportChart {
  title: string;
  xLabel: string;
  series: ChartSeries[];
  yRange?: [number, number];
  formatY?: (v: number) => string;
}

export interface ReportLoop {
  prompt: string;
  steps: { title: string; text: string }[];
  /** Why it stopped, or what the checker said, in words. */
  outcome: string | null;
}

export interface ReportInput {
  title: string;
  experiment: string;
  /** When the run started, as text. */
  when: string;
  /** Named figures ("answers that changed after feedback" → "14"). */
  facts: { label: string; value: string }[];
  charts: ReportChart[];
  table: { caption: string; head: string[]; rows: string[][] } | null;
  loops: ReportLoop[];
  /** Loops left out of `loops` (a long batch is cut). */
  moreLoops: number;
}

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text for HTML element content and quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESC[c]);
}

const COLORS = ['#1f5fbf', '#c2410c', '#15803d', '#7c3aed'];
const BOX = { width: 560, height: 220, padLeft: 52, padBottom: 34, padTop: 10, padRight: 12 };

/** One chart as inline SVG (the same geometry as the app's LineChart). */
export function svgChart(c: ReportChart): string {
  const series = c.series.map((s) => ({ ...s, points: thinPoints(s.points, 400) }));
  const g = chartGeometry(series, BOX, c.yRange, true);
  const fy = c.formatY ?? ((v: number) => String(v));
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${BOX.width} ${BOX.height}" role="img"><title>${escapeHtml(c.title)}</title>`];
  for (const t of g.yTicks) {
    parts.push(`<line x1="${BOX.padLeft}" x2="${BOX.width - BOX.padRight}" y1="${t.px}" y2="${t.px}" stroke="#ddd"/>`);
    parts.push(`<text x="${BOX.padLeft - 6}" y="${t.px + 4}" text-anchor="end" font-size="12" fill="#555">${escapeHtml(fy(t.value))}</text>`);
  }
  for (const t of g.xTicks) parts.push(`<text x="${t.px}" y="${BOX.height - BOX.padBottom + 16}" text-anchor="middle" font-size="12" fill="#555">${t.value}</text>`);
  parts.push(`<text x="${BOX.padLeft + (BOX.width - BOX.padLeft) / 2}" y="${BOX.height - 4}" text-anchor="middle" font-size="12" fill="#555">${escapeHtml(c.xLabel)}</text>`);
  g.paths.forEach((d, i) => {
    if (d) parts.push(`<path d="${d}" fill="none" stroke-width="2" stroke="${COLORS[i % COLORS.length]}"/>`);
  });
  for (const dot of g.dots) parts.push(`<circle cx="${dot.cx}" cy="${dot.cy}" r="4" fill="${COLORS[dot.series % COLORS.length]}"/>`);
  parts.push('</svg>');
  const legend = series.map((s, i) => `<span class="legend"><span class="swatch" style="background:${COLORS[i % COLORS.length]}"></span>${escapeHtml(s.label)}</span>`).join(' ');
  return `<figure>${parts.join('')}<figcaption>${legend}</figcaption></figure>`;
}

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#1b1b1f}
h1{font-size:1.7rem;margin-bottom:0}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{font-weight:600}
dd{margin:0}figure{margin:1rem 0}svg{width:100%;height:auto;border:1px solid #ddd;border-radius:8px}
.legend{display:inline-flex;gap:.3rem;align-items:center;margin-right:1rem}.swatch{width:.9rem;height:.3rem;display:inline-block}
table{border-collapse:collapse}th,td{border:1px solid #ddd;padding:.2rem .6rem;text-align:right}th:first-child,td:first-child{text-align:left}
.loop{border:1px solid #ddd;border-radius:8px;padding:.5rem 1rem;margin:1rem 0}.step h3{font-size:1rem;margin:.6rem 0 .2rem}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f5f5f4;padding:.4rem .6rem;margin:0}.muted{color:#5b5b63}`;

export function renderReport(r: ReportInput): string {
  const out: string[] = [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(r.title)}</title><style>${STYLE}</style></head><body>`,
    `<h1>${escapeHtml(r.title)}</h1>`,
    `<p class="muted">${escapeHtml(r.experiment)} · ${escapeHtml(r.when)} · made with Self-Refine Studio</p>`,
  ];
  if (r.facts.length > 0) out.push(`<dl>${r.facts.map((f) => `<dt>${escapeHtml(f.label)}</dt><dd>${escapeHtml(f.value)}</dd>`).join('')}</dl>`);
  for (const c of r.charts) if (c.series.length > 0) out.push(`<h2>${escapeHtml(c.title)}</h2>`, svgChart(c));
  if (r.table) {
    const head = r.table.head.map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join('');
    const rows = r.table.rows.map((row) => `<tr>${row.map((v) => `<td>${escapeHtml(v)}</td>`).join('')}</tr>`).join('');
    out.push(`<table><caption>${escapeHtml(r.table.caption)}</caption><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table>`);
  }
  for (const loop of r.loops) {
    out.push(`<section class="loop"><h2>${escapeHtml(loop.prompt)}</h2>`);
    for (const s of loop.steps) out.push(`<div class="step"><h3>${escapeHtml(s.title)}</h3><pre>${escapeHtml(s.text)}</pre></div>`);
    if (loop.outcome) out.push(`<p class="muted">${escapeHtml(loop.outcome)}</p>`);
    out.push('</section>');
  }
  if (r.moreLoops > 0) out.push(`<p class="muted">…and ${r.moreLoops} more loops, left out of this report.</p>`);
  out.push('</body></html>');
  return out.join('\n');
}

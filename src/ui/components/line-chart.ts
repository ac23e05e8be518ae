/**
 * The geometry of a small SVG line chart, as pure functions (tested in Node): scales from data to pixels,
 * a path per series, and a few round tick values. LineChart.svelte draws what this computes.
 */

export interface ChartPoint {
  x: number;
  y: number;
}

export interface ChartSeries {
  label: string;
  points: readonly ChartPoint[];
}

export interface ChartBox {
  width: number;
  height: number;
  /** Space for tick labels: left and bottom. */
  padLeft: number;
  padBottom: number;
  padTop: number;
  padRight: number;
}

export interface ChartGeometry {
  xMin: number;
  xMax: number;
  yMin: number;
  yMax: number;
  /** One SVG path ("M x y L x y …") per series, in order; '' for a series without finite points. */
  paths: string[];
  /** Single points are drawn as dots (a path of one point is invisible). */
  dots: { series: number; cx: number; cy: number }[];
  xTicks: { value: number; px: number }[];
  yTicks: { value: number; px: number }[];
}

/** Up to `count`+1 round values covering [min, max] (steps of 1, 2 or 5 × 10^k; whole steps when `integer`). */
export function niceTicks(min: number, max: number, count = 4, integer = false): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (min === max) return [min];
  const raw = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const nice = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const step = integer ? Math.max(1, Math.round(nice)) : nice;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function extent(values: number[], fallback: [number, number], integer = false): [number, number] {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return fallback;
  let lo = Math.min(...finite);
  let hi = Math.max(...finite);
  if (lo === hi) {
    // One value: centred; a whole-number axis (rounds, steps) gets half a unit each side, so only it is ticked.
    const pad = integer ? 0.5 : lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  return [lo, hi];
}

/**
 * Scales and paths for the series in the box; `yRange` fixes the y axis (e.g. [0, 1] for accuracies);
 * `integerX` (rounds, training steps) ticks whole numbers only.
 */
export function chartGeometry(series: readonly ChartSeries[], box: ChartBox, yRange?: [number, number], integerX = false): ChartGeometry {
  const all = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const [xMin, xMax] = extent(all.map((p) => p.x), [0, 1], integerX);
  const [yMin, yMax] = yRange ?? extent(all.map((p) => p.y), [0, 1]);
  const plotW = Math.max(1, box.width - box.padLeft - box.padRight);
  const plotH = Math.max(1, box.height - box.padTop - box.padBottom);
  const px = (x: number) => box.padLeft + ((x - xMin) / (xMax - xMin)) * plotW;
  const py = (y: number) => box.padTop + (1 - (y - yMin) / (yMax - yMin)) * plotH;
  const r = (v: number) => Math.round(v * 10) / 10;
  const dots: ChartGeometry['dots'] = [];
  const paths = series.map((s, i) => {
    const pts = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
    if (pts.length === 1) dots.push({ series: i, cx: r(px(pts[0].x)), cy: r(py(pts[0].y)) });
    return pts.map((p, k) => `${k === 0 ? 'M' : 'L'}${r(px(p.x))} ${r(py(p.y))}`).join(' ');
  });
  return {
    xMin,
    xMax,
    yMin,
    yMax,
    paths,
    dots,
    // (`|| 0`: Math.ceil(-0.5) is -0.)
    xTicks: niceTicks(integerX ? Math.ceil(xMin) || 0 : xMin, integerX ? Math.floor(xMax) : xMax, 4, integerX).filter((v) => v >= xMin && v <= xMax).map((value) => ({ value, px: r(px(value)) })),
    yTicks: niceTicks(yMin, yMax).filter((v) => v >= yMin && v <= yMax).map((value) => ({ value, px: r(py(value)) })),
  };
}

/** Keeps at most `max` points, evenly spaced, always with the first and the last (for long loss curves). */
export function thinPoints<T>(points: readonly T[], max: number): T[] {
  if (points.length <= max || max < 2) return [...points];
  const out: T[] = [];
  const step = (points.length - 1) / (max - 1);
  for (let i = 0; i < max; i++) out.push(points[Math.round(i * step)]);
  return out;
}

/** One measure over several runs (seeds): each value, the mean and the spread (sample standard deviation, min–max). */

export interface SeedStat {
  /** Value per run, in the order given. */
  values: number[];
  mean: number;
  /** Sample standard deviation (0 for one seed). */
  std: number;
  min: number;
  max: number;
}

export function seedStat(values: readonly number[]): SeedStat {
  const n = values.length;
  const mean = values.reduce((s, x) => s + x, 0) / Math.max(1, n);
  const variance = n > 1 ? values.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1) : 0;
  return { values: [...values], mean, std: Math.sqrt(variance), min: Math.min(...values), max: Math.max(...values) };
}

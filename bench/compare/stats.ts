export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Nearest-rank percentile (p in 0–100) of the values; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function rate(count: number, ms: number): number {
  return ms > 0 ? (count * 1000) / ms : Number.NaN;
}

export function formatInt(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '—';
}

export function formatMs(value: number): string {
  if (!Number.isFinite(value)) return '—';
  return value >= 100 ? String(Math.round(value)) : value.toFixed(1);
}

/** One budget line of `npm run bench`: printed as `name: ratio (value vs baseline)`. */
export interface BenchRow {
  name: string;
  /** higher is better unless `lowerIsBetter` */
  ratio: number;
  value: number;
  baseline: number;
  unit: string;
  /** the ratio the budget asks for, when there is one */
  target?: number;
  lowerIsBetter?: boolean;
  note?: string;
}

export function formatRow(r: BenchRow): string {
  const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2));
  const target = r.target === undefined ? '' : `  [target ${r.lowerIsBetter ? '≤' : '≥'} ${r.target}×: ${(r.lowerIsBetter ? r.ratio <= r.target : r.ratio >= r.target) ? 'met' : 'MISSED'}]`;
  return `${r.name}: ${r.ratio.toFixed(2)}× (${fmt(r.value)} ${r.unit} vs ${fmt(r.baseline)} ${r.unit})${target}${r.note ? `  — ${r.note}` : ''}`;
}

/**
 * How the statistics view prints numbers. One function, so the e2e test can compare what the page shows
 * with the report's values at exactly the precision shown.
 */

/** Significant digits of a statistic on screen. */
export const STAT_DIGITS = 5;

/** A statistic: 5 significant digits, exponent notation outside [1e-3, 1e5), "—" when absent. */
export function formatStat(x: number | null | undefined): string {
  if (x === null || x === undefined) return '—';
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '+∞' : '−∞';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e5 || a < 1e-3) return x.toExponential(STAT_DIGITS - 1).replace(/\.?0+e/, 'e');
  return Number(x.toPrecision(STAT_DIGITS)).toString();
}

/** A fraction as a percentage with enough digits to tell 0 from "a few". */
export function formatPercent(part: number, total: number): string {
  if (total <= 0 || part === 0) return '0 %';
  const p = (100 * part) / total;
  return `${p >= 10 ? p.toFixed(1) : p >= 0.01 ? p.toFixed(2) : p.toExponential(1)} %`;
}

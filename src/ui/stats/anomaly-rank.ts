import { DTYPES } from '../../core/model/dtype';
import type { Finding, Severity } from '../../core/report/finding';
import type { TensorStats } from '../../core/stats/types';

/**
 * The model-level overview: every tensor ranked by how odd it looks. Findings that name a tensor
 * (`evidence.tensor`) come first, by severity; statistical oddities that no finding explains on its own
 * (non-finite values, heavy tails, elements far outside the robust scale, exact zeros, duplicate rows) give
 * a score that orders tensors of equal severity and lets a reader sort by any one of them.
 */

const SEVERITY_RANK: Record<Severity, number> = { info: 1, warning: 2, error: 3, dangerous: 4 };

export interface TensorFindingRef {
  id: string;
  severity: Severity;
  title: string;
}

export interface TensorAnomaly {
  name: string;
  file: string | null;
  shape: number[] | null;
  /** worst severity among the findings that name the tensor, null when none does */
  severity: Severity | null;
  findings: TensorFindingRef[];
  /** findings at the worst severity (ties between equally severe tensors go to the one with more) */
  worstCount: number;
  nonFinite: number;
  /** excess kurtosis (normal: 0) */
  kurtosis: number | null;
  /** max|x| / σ̂ with σ̂ = 1.4826·MAD: ~4–6 for a normal bulk of a million values */
  outlierRatio: number | null;
  /** exact zeros / count, for float tensors (trained float weights are almost never exactly 0) */
  zerosFraction: number | null;
  duplicateRows: number;
  /** statistical oddity, 0 for an unremarkable tensor (see oddityScore) */
  score: number;
  /** short reasons, worst first, for the list */
  reasons: string[];
}

/** A finding names a tensor through `evidence.tensor` (weights/*, privacy/*, reference/*). */
export function tensorOf(f: Finding): string | null {
  const t = f.evidence?.tensor;
  return typeof t === 'string' ? t : null;
}

export function severityRank(s: Severity | null): number {
  return s ? SEVERITY_RANK[s] : 0;
}

/** Scores above this are worth a reader's look even with no finding. */
export const ODDITY_NOTABLE = 1;

/**
 * Statistical oddity of one tensor. Each term is 0 for what trained weights look like and grows on a log
 * scale: kurtosis beyond 10 (heavy tails), an element beyond 10 σ̂, more than 1 % exact zeros in a float
 * tensor, any duplicate row, and any NaN or ±Infinity (which alone outweighs the rest).
 */
export function oddityScore(s: Pick<TensorAnomaly, 'nonFinite' | 'kurtosis' | 'outlierRatio' | 'zerosFraction' | 'duplicateRows'>): number {
  let score = 0;
  if (s.nonFinite > 0) score += 10 + Math.log10(s.nonFinite);
  if (s.kurtosis !== null && s.kurtosis > 10) score += Math.log10(s.kurtosis / 10);
  if (s.outlierRatio !== null && s.outlierRatio > 10) score += Math.log10(s.outlierRatio / 10);
  if (s.zerosFraction !== null && s.zerosFraction > 0.01) score += 2 * s.zerosFraction + Math.log10(s.zerosFraction / 0.01) / 2;
  if (s.duplicateRows > 0) score += 1 + Math.log10(s.duplicateRows);
  return score;
}

function isFloat(dtype: string): boolean {
  return (DTYPES as Record<string, { kind: string } | undefined>)[dtype]?.kind === 'float';
}

const fmt = (x: number) => (Math.abs(x) >= 1e4 ? x.toExponential(1) : Number(x.toPrecision(3)).toString());

/** Ranks the tensors of a report: severity, then findings at that severity, then oddity score, then name. */
export function rankTensors(statistics: readonly TensorStats[], findings: readonly Finding[]): TensorAnomaly[] {
  const byName = new Map<string, TensorAnomaly>();
  for (const s of statistics) {
    if (byName.has(s.name)) continue;
    const usable = !s.skipped && s.count > 0;
    const nonFinite = s.nan + s.posInf + s.negInf;
    const outlierRatio = usable && s.absMax !== null && s.robustSigma !== null && s.robustSigma > 0 ? s.absMax / s.robustSigma : null;
    const zerosFraction = usable && isFloat(s.dtype) ? s.zeros / s.count : null;
    const a: TensorAnomaly = {
      name: s.name, file: s.file, shape: s.shape, severity: null, findings: [], worstCount: 0, nonFinite,
      kurtosis: usable ? s.kurtosis : null, outlierRatio, zerosFraction, duplicateRows: s.matrix?.duplicateRows ?? 0, score: 0, reasons: [],
    };
    a.score = oddityScore(a);
    byName.set(s.name, a);
  }
  for (const f of findings) {
    const name = tensorOf(f);
    if (!name) continue;
    let a = byName.get(name);
    if (!a) {
      a = { name, file: f.file ?? null, shape: null, severity: null, findings: [], worstCount: 0, nonFinite: 0, kurtosis: null, outlierRatio: null, zerosFraction: null, duplicateRows: 0, score: 0, reasons: [] };
      byName.set(name, a);
    }
    a.findings.push({ id: f.id, severity: f.severity, title: f.title });
  }
  for (const a of byName.values()) {
    a.findings.sort((x, y) => severityRank(y.severity) - severityRank(x.severity));
    a.severity = a.findings[0]?.severity ?? null;
    a.worstCount = a.findings.filter((f) => f.severity === a.severity).length;
    const r: string[] = [];
    const ids = new Map<string, number>();
    for (const f of a.findings) ids.set(f.id, (ids.get(f.id) ?? 0) + 1);
    for (const [id, n] of ids) r.push(n > 1 ? `${id} ×${n}` : id);
    if (a.nonFinite > 0) r.push(`${a.nonFinite} NaN/Inf`);
    if (a.outlierRatio !== null && a.outlierRatio > 10) r.push(`max|x| = ${fmt(a.outlierRatio)} σ̂`);
    if (a.kurtosis !== null && a.kurtosis > 10) r.push(`kurtosis ${fmt(a.kurtosis)}`);
    if (a.zerosFraction !== null && a.zerosFraction > 0.01) r.push(`${fmt(100 * a.zerosFraction)} % zeros`);
    if (a.duplicateRows > 0) r.push(`${a.duplicateRows} duplicate row${a.duplicateRows > 1 ? 's' : ''}`);
    a.reasons = r;
  }
  return [...byName.values()].sort(compareAnomalies);
}

export function compareAnomalies(a: TensorAnomaly, b: TensorAnomaly): number {
  return (
    severityRank(b.severity) - severityRank(a.severity) ||
    b.worstCount - a.worstCount ||
    b.score - a.score ||
    a.name.localeCompare(b.name, undefined, { numeric: true })
  );
}

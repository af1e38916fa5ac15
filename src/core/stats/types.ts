import type { DType } from '../model/dtype';
import type { SpectralMetrics } from './spectral';

/**
 * Statistics of one tensor, computed in one streaming pass. Plain JSON-able data: it goes into
 * Report.statistics and IndexedDB unchanged. Every array in it is bounded (see src/core/io/limits.ts
 * STATS_*), so a model with thousands of tensors still makes a report of a few MB at most.
 *
 * Statistics are over the finite values (NaN and ±Infinity are counted, not averaged). A type alias
 * (not an interface) so it is assignable to the report's `Record<string, unknown>`.
 */
export type TensorStats = {
  name: string;
  file: string;
  dtype: DType;
  shape: number[];
  /** elements decoded; equals numel unless `complete` is false */
  count: number;
  /** false when part of the tensor's bytes were missing from the file or the pass was cut short */
  complete: boolean;
  /** why no statistics were computed (undecodable dtype, bytes not addressable, ...) */
  skipped?: string;
  finite: number;
  min: number | null;
  max: number | null;
  mean: number | null;
  /** population standard deviation (ddof = 0, as numpy.std) */
  std: number | null;
  absMax: number | null;
  /** index (row-major) of the largest |value| */
  absMaxIndex: number | null;
  /** excess kurtosis (Fisher: a normal distribution gives 0), population moments */
  kurtosis: number | null;
  zeros: number;
  nan: number;
  posInf: number;
  negInf: number;
  /** values that are subnormal in float32 (after decoding) */
  subnormal: number;
  /** element index of the first NaN or ±Infinity, for evidence */
  firstNonFinite: number | null;
  /**
   * Median and median absolute deviation, from the exact log-linear histogram (16 sub-bins per power of
   * two, linear interpolation inside a bin): error at most one sub-bin, i.e. ≤ 2^-4 relative to
   * |median| (resp. |median| + MAD), and in practice well under 1 % for smooth distributions.
   */
  median: number | null;
  mad: number | null;
  /** 1.4826 · MAD: the standard deviation a normal distribution with this MAD would have */
  robustSigma: number | null;
  histogram: Histogram | null;
  /** per power of two: counts of negative and positive values whose |x| is in [2^e, 2^(e+1)) (non-empty only) */
  log2Histogram: { e: number; neg: number; pos: number }[];
  /**
   * exact non-zero values repeated far more often than the tensor's own density explains (counted over the
   * first STATS_WINDOW values and, after that, over values beyond 3σ; counts are lower bounds)
   */
  repeats: RepeatedValue[];
  /** rank ≥ 2 tensors viewed as [shape[0], product(rest)] (conv kernels: [out, in·kh·kw]) */
  matrix: MatrixStats | null;
  /** spectral norm, stable rank, power-law α: added by the weight-signatures analysis for linear layers it read */
  spectral?: SpectralMetrics;
};

/** Fixed-width bins over a robust range [lo, hi] (about the 0.05 %–99.95 % quantiles). */
export interface Histogram {
  lo: number;
  hi: number;
  counts: number[];
  /** finite values below lo / above hi */
  below: number;
  above: number;
}

export interface RepeatedValue {
  value: number;
  count: number;
  /** occurrences of one value expected from the tensor's density at that value */
  expected: number;
}

export interface NormSummary {
  min: number;
  median: number;
  max: number;
  mean: number;
  /** all norms when there are at most STATS_MAX_NORMS_KEPT, else null */
  values: number[] | null;
  /** the largest norms with their index, largest first */
  top: { index: number; value: number }[];
}

export interface MatrixStats {
  rows: number;
  cols: number;
  /** L2 norm of every row / column, summarised (null when the dimension exceeds the limit) */
  rowNorms: NormSummary | null;
  colNorms: NormSummary | null;
  zeroRows: number;
  zeroRowIndices: number[];
  zeroCols: number;
  zeroColIndices: number[];
  /** columns with exactly one non-zero entry (a lone outgoing path when the matrix is the next layer) */
  singleNonZeroCols: number;
  singleNonZeroColIndices: number[];
  /** groups of bit-identical non-zero rows (by an order-exact row signature), largest first */
  duplicateRowGroups: number[][];
  /** rows equal to an earlier row */
  duplicateRows: number;
}

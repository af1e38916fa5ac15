import {
  STATS_HIST_BINS,
  STATS_MAX_COLS,
  STATS_MAX_DUP_GROUPS,
  STATS_MAX_INDICES,
  STATS_MAX_NORMS_KEPT,
  STATS_MAX_REPEATS,
  STATS_MAX_ROWS,
  STATS_REPEAT_SLOTS,
} from '../io/limits';
import type { TensorInfo } from '../model/types';
import { LOG_BINS, LOG_SHIFT, OrderedBins, log2Counts } from './log-histogram';
import type { MatrixStats, NormSummary, RepeatedValue, TensorStats } from './types';

/** Mantissa bits of the float dtypes whose exact repeats are meaningful (quantised and integer values repeat by design). */
const MANTISSA_BITS: Partial<Record<string, number>> = { float32: 23, float64: 23, float16: 10, bfloat16: 7 };

const REPEAT_SHIFT = 32 - Math.log2(STATS_REPEAT_SLOTS);

/**
 * Moments of one window, merged into the running totals with the pairwise update of Chan, Golub &
 * LeVeque (1979) extended to third and fourth moments by Pébay (2008, SAND2008-6212, eq. 2.1–2.4):
 * numerically stable for any number of windows, unlike a single sum of powers.
 */
function mergeMoments(a: Moments, nb: number, meanB: number, m2b: number, m3b: number, m4b: number): void {
  if (nb === 0) return;
  const na = a.n;
  if (na === 0) {
    a.n = nb;
    a.mean = meanB;
    a.m2 = m2b;
    a.m3 = m3b;
    a.m4 = m4b;
    return;
  }
  const n = na + nb;
  const d = meanB - a.mean;
  const dn = d / n;
  const dn2 = dn * dn;
  const t = d * dn * na * nb;
  const m4 = a.m4 + m4b + t * dn2 * (na * na - na * nb + nb * nb) + 6 * dn2 * (na * na * m2b + nb * nb * a.m2) + 4 * dn * (na * m3b - nb * a.m3);
  const m3 = a.m3 + m3b + t * dn * (na - nb) + 3 * dn * (na * m2b - nb * a.m2);
  a.m2 = a.m2 + m2b + t;
  a.m3 = m3;
  a.m4 = m4;
  a.mean += dn * nb;
  a.n = n;
}

interface Moments {
  n: number;
  mean: number;
  m2: number;
  m3: number;
  m4: number;
}

/** Reusable big arrays: only the tensors being streamed hold one, so a 3000-tensor file allocates a handful. */
const POOL: { bins: Float64Array; keys: Uint32Array; counts: Int32Array }[] = [];

/**
 * Accumulates the statistics of one tensor from its float32 values, window by window, in element order.
 * No allocation per element; two passes over each window (the second one centred on the window's mean).
 */
export class TensorAccumulator {
  readonly tensor: TensorInfo;
  /** elements pushed so far (the row-major index of the next one) */
  index = 0;
  private mom: Moments = { n: 0, mean: 0, m2: 0, m3: 0, m4: 0 };
  private min = Infinity;
  private max = -Infinity;
  private absMax = -1;
  private absMaxIndex = -1;
  private zeros = 0;
  private nan = 0;
  private posInf = 0;
  private negInf = 0;
  private subnormal = 0;
  private firstNonFinite = -1;
  private bins: Float64Array;
  private keys: Uint32Array;
  private counts: Int32Array;
  private readonly trackRepeats: boolean;
  // matrix view [rows, cols]
  private readonly rows: number;
  private readonly cols: number;
  private rowSq: Float64Array | null = null;
  private rowSum: Float64Array | null = null;
  private rowSig: Float64Array | null = null;
  private colSq: Float64Array | null = null;
  private colNnz: Int32Array | null = null;
  private colWeight: Float64Array | null = null;

  constructor(tensor: TensorInfo) {
    this.tensor = tensor;
    const pooled = POOL.pop();
    this.bins = pooled?.bins ?? new Float64Array(LOG_BINS);
    this.keys = pooled?.keys ?? new Uint32Array(STATS_REPEAT_SLOTS);
    this.counts = pooled?.counts ?? new Int32Array(STATS_REPEAT_SLOTS);
    this.trackRepeats = MANTISSA_BITS[tensor.dtype] !== undefined;
    const shape = tensor.shape;
    this.rows = shape.length >= 2 ? shape[0] : 0;
    this.cols = shape.length >= 2 && shape[0] > 0 ? tensor.numel / shape[0] : 0;
    if (this.rows > 1 && this.cols > 1) {
      if (this.rows <= STATS_MAX_ROWS) {
        this.rowSq = new Float64Array(this.rows);
        this.rowSum = new Float64Array(this.rows);
        this.rowSig = new Float64Array(this.rows);
      }
      if (this.cols <= STATS_MAX_COLS) {
        this.colSq = new Float64Array(this.cols);
        this.colNnz = new Int32Array(this.cols);
        // fixed pseudo-random weights per column: Σ x·w_c tells rows with the same sum and norm apart
        this.colWeight = new Float64Array(this.cols);
        for (let c = 0; c < this.cols; c++) this.colWeight[c] = 0.5 + (Math.imul(c + 1, 0x9e3779b1) >>> 0) / 2 ** 32;
      }
    }
  }

  /** Adds the next `n` values (`u` is the same memory as bit patterns). */
  push(v: Float32Array, u: Uint32Array, n: number): void {
    // never more elements than the shape declares (a span longer than the shape, an odd int4 count)
    n = Math.min(n, this.tensor.numel - this.index);
    if (n <= 0) return;
    const bins = this.bins;
    const keys = this.keys;
    const counts = this.counts;
    const repeats = this.trackRepeats;
    // The heavy-hitter table costs ~15 ns per element (random access, unpredictable branches), so after
    // the first window only the tails are counted: |x| > 3σ of the values seen so far. Planted constants
    // (pass-through weights of ~100, LayerNorm constants) live there; identical rows of ordinary values
    // are found by the duplicate-row signature instead.
    const thr = this.mom.n > 0 ? 3 * Math.sqrt(this.mom.m2 / this.mom.n) : 0;
    let mn = this.min;
    let mx = this.max;
    let amax = this.absMax;
    let amaxAt = -1;
    let s = 0;
    let specials = 0;
    let zeros = 0;
    let sub = 0;
    // pass 1: extremes, sum, exact bins, exact-zero / subnormal / non-finite counts, repeated values
    for (let i = 0; i < n; i++) {
      const b = u[i];
      const e = b & 0x7f800000;
      if (e === 0x7f800000) {
        specials++;
        this.special(i, b);
        continue;
      }
      const x = v[i];
      if (e === 0) {
        if ((b & 0x7fffffff) === 0) zeros++;
        else sub++;
      } else if (repeats && (x > thr || -x > thr)) {
        const h = Math.imul(b, 0x9e3779b1) >>> REPEAT_SHIFT;
        if (keys[h] === b) counts[h]++;
        else if (counts[h] === 0) {
          keys[h] = b;
          counts[h] = 1;
        } else counts[h]--;
      }
      bins[b >>> LOG_SHIFT]++;
      s += x;
      if (x < mn) mn = x;
      if (x > mx) mx = x;
      if (x > amax || -x > amax) {
        amax = x < 0 ? -x : x;
        amaxAt = i;
      }
    }
    this.min = mn;
    this.max = mx;
    if (amaxAt >= 0) {
      this.absMax = amax;
      this.absMaxIndex = this.index + amaxAt;
    }
    this.zeros += zeros;
    this.subnormal += sub;
    const cnt = n - specials;
    if (cnt > 0) {
      const mb = s / cnt;
      if (this.rowSq || this.colSq) this.pass2Matrix(v, n, mb, specials > 0, cnt);
      else this.pass2(v, n, mb, specials > 0, cnt);
    }
    this.index += n;
  }

  private special(i: number, b: number): void {
    if (this.firstNonFinite < 0) this.firstNonFinite = this.index + i;
    if ((b & 0x007fffff) !== 0) this.nan++;
    else if (b & 0x80000000) this.negInf++;
    else this.posInf++;
  }

  private pass2(v: Float32Array, n: number, mb: number, checked: boolean, cnt: number): void {
    let m2 = 0;
    let m3 = 0;
    let m4 = 0;
    for (let i = 0; i < n; i++) {
      const d = v[i] - mb;
      if (checked && !(d - d === 0)) continue; // NaN or ±Infinity
      const d2 = d * d;
      m2 += d2;
      m3 += d2 * d;
      m4 += d2 * d2;
    }
    mergeMoments(this.mom, cnt, mb, m2, m3, m4);
  }

  /** Pass 2 for matrices: moments plus per-row and per-column accumulators, row segment by row segment. */
  private pass2Matrix(v: Float32Array, n: number, mb: number, checked: boolean, cnt: number): void {
    let m2 = 0;
    let m3 = 0;
    let m4 = 0;
    const cols = this.cols;
    const rowSq = this.rowSq;
    const rowSum = this.rowSum;
    const rowSig = this.rowSig;
    const colSq = this.colSq;
    const colNnz = this.colNnz;
    const colW = this.colWeight;
    let k = this.index;
    let i = 0;
    while (i < n) {
      const r = Math.floor(k / cols);
      const c0 = k - r * cols;
      const len = Math.min(cols - c0, n - i);
      // row accumulators continue the same sequential sum whatever the window boundaries: identical rows
      // give bit-identical (Σx, Σx², Σx·w) however the file was chunked
      let rs = rowSq ? rowSq[r] : 0;
      let rsum = rowSum ? rowSum[r] : 0;
      let rsig = rowSig ? rowSig[r] : 0;
      for (let j = 0; j < len; j++) {
        const x = v[i + j];
        const d = x - mb;
        if (checked && !(d - d === 0)) continue;
        const d2 = d * d;
        m2 += d2;
        m3 += d2 * d;
        m4 += d2 * d2;
        const sq = x * x;
        rs += sq;
        rsum += x;
        if (colSq) {
          const c = c0 + j;
          colSq[c] += sq;
          if (x !== 0) colNnz![c]++;
          rsig += x * colW![c];
        }
      }
      if (rowSq && r < this.rows) {
        rowSq[r] = rs;
        rowSum![r] = rsum;
        rowSig![r] = rsig;
      }
      i += len;
      k += len;
    }
    mergeMoments(this.mom, cnt, mb, m2, m3, m4);
  }

  /** Final statistics; releases the big arrays to the pool. */
  finish(complete: boolean): TensorStats {
    const t = this.tensor;
    const m = this.mom;
    const finite = m.n;
    const has = finite > 0;
    const ordered = new OrderedBins(this.bins);
    const median = has ? ordered.quantile(0.5, this.min, this.max) : null;
    const mad = has ? ordered.mad(median!, this.min, this.max) : null;
    let histogram = null;
    if (has) {
      let lo = ordered.quantile(0.0005, this.min, this.max);
      let hi = ordered.quantile(0.9995, this.min, this.max);
      if (!(hi > lo)) {
        lo = this.min;
        hi = this.max;
      }
      histogram = ordered.display(STATS_HIST_BINS, lo, hi);
    }
    const variance = has ? m.m2 / finite : null;
    const stats: TensorStats = {
      name: t.name,
      file: t.file,
      dtype: t.dtype,
      shape: [...t.shape],
      count: this.index,
      complete,
      finite,
      min: has ? this.min : null,
      max: has ? this.max : null,
      mean: has ? m.mean : null,
      std: variance === null ? null : Math.sqrt(variance),
      absMax: has ? this.absMax : null,
      absMaxIndex: has ? this.absMaxIndex : null,
      kurtosis: has && m.m2 > 0 ? (finite * m.m4) / (m.m2 * m.m2) - 3 : null,
      zeros: this.zeros,
      nan: this.nan,
      posInf: this.posInf,
      negInf: this.negInf,
      subnormal: this.subnormal,
      firstNonFinite: this.firstNonFinite >= 0 ? this.firstNonFinite : null,
      median,
      mad,
      robustSigma: mad === null ? null : 1.4826 * mad,
      histogram,
      log2Histogram: log2Counts(this.bins),
      repeats: this.trackRepeats ? this.topRepeats(MANTISSA_BITS[t.dtype]!) : [],
      matrix: this.matrixStats(),
    };
    this.bins.fill(0);
    this.keys.fill(0);
    this.counts.fill(0);
    POOL.push({ bins: this.bins, keys: this.keys, counts: this.counts });
    if (POOL.length > 4) POOL.length = 4;
    this.rowSq = this.rowSum = this.rowSig = this.colSq = this.colWeight = null;
    this.colNnz = null;
    return stats;
  }

  /**
   * Values the heavy-hitter table still holds (every non-zero value of the first window, then the values
   * beyond 3σ), compared with how often one value of that magnitude is
   * expected: a log sub-bin holds 2^(p−4) representable values of a p-bit mantissa, so a value is
   * expected bins[b] / 2^(p−4) times if the density is smooth. Counts are lower bounds (a slot loses one
   * count per colliding arrival).
   */
  private topRepeats(p: number): RepeatedValue[] {
    const out: RepeatedValue[] = [];
    const f = new Float32Array(1);
    const u = new Uint32Array(f.buffer);
    const perBin = 2 ** Math.max(0, p - 4);
    for (let h = 0; h < this.counts.length; h++) {
      const c = this.counts[h];
      if (c < 4) continue;
      const b = this.keys[h];
      u[0] = b;
      const expected = this.bins[b >>> LOG_SHIFT] / perBin;
      out.push({ value: f[0], count: c, expected });
    }
    out.sort((a, b) => b.count / Math.max(b.expected, 1) - a.count / Math.max(a.expected, 1) || b.count - a.count);
    return out.slice(0, STATS_MAX_REPEATS);
  }

  private matrixStats(): MatrixStats | null {
    if (!(this.rows > 1 && this.cols > 1)) return null;
    const ms: MatrixStats = {
      rows: this.rows,
      cols: this.cols,
      rowNorms: null,
      colNorms: null,
      zeroRows: 0,
      zeroRowIndices: [],
      zeroCols: 0,
      zeroColIndices: [],
      singleNonZeroCols: 0,
      singleNonZeroColIndices: [],
      duplicateRowGroups: [],
      duplicateRows: 0,
    };
    if (this.rowSq) {
      const norms = new Float64Array(this.rows);
      for (let r = 0; r < this.rows; r++) {
        norms[r] = Math.sqrt(this.rowSq[r]);
        if (this.rowSq[r] === 0) {
          ms.zeroRows++;
          if (ms.zeroRowIndices.length < STATS_MAX_INDICES) ms.zeroRowIndices.push(r);
        }
      }
      ms.rowNorms = summarizeNorms(norms);
      // group rows by their order-exact signature; zero rows are reported apart
      const groups = new Map<string, number[]>();
      for (let r = 0; r < this.rows; r++) {
        if (this.rowSq[r] === 0) continue;
        const key = `${this.rowSq[r]}|${this.rowSum![r]}|${this.rowSig![r]}`;
        const g = groups.get(key);
        if (g) g.push(r);
        else groups.set(key, [r]);
      }
      const dups = [...groups.values()].filter((g) => g.length > 1).sort((a, b) => b.length - a.length);
      for (const g of dups) ms.duplicateRows += g.length - 1;
      ms.duplicateRowGroups = dups.slice(0, STATS_MAX_DUP_GROUPS).map((g) => g.slice(0, STATS_MAX_DUP_GROUPS));
    }
    if (this.colSq) {
      const norms = new Float64Array(this.cols);
      for (let c = 0; c < this.cols; c++) {
        norms[c] = Math.sqrt(this.colSq[c]);
        const nnz = this.colNnz![c];
        if (nnz === 0) {
          ms.zeroCols++;
          if (ms.zeroColIndices.length < STATS_MAX_INDICES) ms.zeroColIndices.push(c);
        } else if (nnz === 1) {
          ms.singleNonZeroCols++;
          if (ms.singleNonZeroColIndices.length < STATS_MAX_INDICES) ms.singleNonZeroColIndices.push(c);
        }
      }
      ms.colNorms = summarizeNorms(norms);
    }
    return ms;
  }
}

export function summarizeNorms(norms: Float64Array): NormSummary {
  const n = norms.length;
  const sorted = Float64Array.from(norms).sort();
  let sum = 0;
  for (let i = 0; i < n; i++) sum += norms[i];
  const idx = Array.from({ length: n }, (_, i) => i);
  const top = idx
    .sort((a, b) => norms[b] - norms[a])
    .slice(0, 8)
    .map((i) => ({ index: i, value: norms[i] }));
  return {
    min: sorted[0],
    median: n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2,
    max: sorted[n - 1],
    mean: sum / n,
    values: n <= STATS_MAX_NORMS_KEPT ? Array.from(norms) : null,
    top,
  };
}

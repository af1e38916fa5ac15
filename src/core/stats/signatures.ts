/**
 * Exact-structure detectors over a linear layer's values W [rows = out, cols = in] (row-major float32)
 * and bias b [rows]. Pure functions, bounded work: O(rows·cols) plus small buckets.
 */
export interface LayerValues {
  name: string;
  file: string;
  biasName: string | null;
  w: Float32Array;
  b: Float32Array | null;
  rows: number;
  cols: number;
}

/** Rows compared pairwise inside one hash bucket at most (a bucket bigger than this is cut). */
const MAX_BUCKET = 256;

/** Certified-outlier bound of THREATS.md §7: σ̂(√N + √M) with σ̂ = 1.4826·MAD. */
export function correlationTrapBound(robustSigma: number, n: number, m: number): number {
  return robustSigma * (Math.sqrt(n) + Math.sqrt(m));
}

function rowIsZero(w: Float32Array, r: number, cols: number): boolean {
  for (let k = r * cols, e = k + cols; k < e; k++) if (w[k] !== 0) return false;
  return true;
}

/** Groups (≥ 2 rows, largest first) of bit-identical non-zero rows. */
export function findDuplicateRows(L: LayerValues): number[][] {
  const { w, rows, cols } = L;
  const bits = new Uint32Array(w.buffer, w.byteOffset, rows * cols);
  const buckets = new Map<string, number[]>();
  for (let r = 0; r < rows; r++) {
    if (rowIsZero(w, r, cols)) continue;
    let h1 = 0x811c9dc5;
    let h2 = 0x9e3779b9;
    for (let k = r * cols, e = k + cols; k < e; k++) {
      h1 = Math.imul(h1 ^ bits[k], 0x01000193);
      h2 = Math.imul(h2 + bits[k], 0x85ebca6b) ^ (h2 >>> 13);
    }
    const key = `${h1 >>> 0}:${h2 >>> 0}`;
    const b = buckets.get(key);
    if (b) b.push(r);
    else buckets.set(key, [r]);
  }
  const groups: number[][] = [];
  for (const b of buckets.values()) {
    if (b.length < 2) continue;
    // verify: hashes can collide
    const first = b[0];
    const same = b.filter((r) => {
      for (let k = 0; k < cols; k++) if (bits[first * cols + k] !== bits[r * cols + k]) return false;
      return true;
    });
    if (same.length >= 2) groups.push(same);
  }
  return groups.sort((a, b) => b.length - a.length);
}

/**
 * The period p when duplicate-row groups tile the layer: at least two groups, all of one size, each group
 * the rows r, r + p, r + 2p, … with one p for all. That is a block of rows repeated whole, as expanding
 * grouped-query attention to multi-head attention does (each key/value head's rows repeated for the query
 * heads that share it). An imprint layer copies one measurement row into many units: one group. Null
 * otherwise.
 */
export function repeatedBlockPeriod(groups: readonly (readonly number[])[]): number | null {
  if (groups.length < 2) return null;
  const size = groups[0].length;
  let period: number | null = null;
  for (const g of groups) {
    if (g.length !== size) return null;
    const rows = [...g].sort((a, b) => a - b);
    const p = rows[1] - rows[0];
    if (period === null) period = p;
    if (p !== period || p <= 0) return null;
    for (let i = 2; i < rows.length; i++) if (rows[i] - rows[i - 1] !== p) return null;
  }
  return period;
}

/**
 * Pairs of rows where row b = ratio · row a exactly up to float32 rounding (|b_k − ratio·a_k| ≤ 2^-20·max|b|),
 * ratio ≠ 1 (copies are duplicates), oriented so that |ratio| ≤ 1. Rows are bucketed by their direction
 * (sign-normalised unit vector, first 16 entries rounded to 1e-4), so the work stays linear.
 */
export function findProportionalRows(L: LayerValues): { a: number; b: number; ratio: number }[] {
  const { w, rows, cols } = L;
  const buckets = new Map<string, number[]>();
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let n2 = 0;
    let k0 = -1;
    for (let k = 0; k < cols; k++) {
      const x = w[base + k];
      n2 += x * x;
      if (k0 < 0 && x !== 0) k0 = k;
    }
    if (k0 < 0 || !Number.isFinite(n2)) continue;
    const s = (w[base + k0] > 0 ? 1 : -1) * Math.sqrt(n2);
    const parts: number[] = [k0];
    for (let k = k0, taken = 0; k < cols && taken < 16; k++) {
      if (w[base + k] === 0) continue;
      parts.push(k, Math.round((w[base + k] / s) * 1e4));
      taken++;
    }
    const key = parts.join(',');
    const b = buckets.get(key);
    if (b) {
      if (b.length < MAX_BUCKET) b.push(r);
    } else buckets.set(key, [r]);
  }
  const out: { a: number; b: number; ratio: number }[] = [];
  for (const b of buckets.values()) {
    if (b.length < 2) continue;
    for (let i = 0; i < b.length; i++) {
      for (let j = i + 1; j < b.length; j++) {
        const ra = b[i] * cols;
        const rb = b[j] * cols;
        let dot = 0;
        let aa = 0;
        let bb = 0;
        let bmax = 0;
        for (let k = 0; k < cols; k++) {
          dot += w[ra + k] * w[rb + k];
          aa += w[ra + k] * w[ra + k];
          bb += w[rb + k] * w[rb + k];
          bmax = Math.max(bmax, Math.abs(w[rb + k]));
        }
        const ratio = dot / aa;
        if (!(aa > 0) || Math.abs(ratio - 1) < 1e-6) continue;
        let ok = true;
        for (let k = 0; k < cols && ok; k++) if (Math.abs(w[rb + k] - ratio * w[ra + k]) > bmax * 2 ** -20) ok = false;
        // constant rows (all entries equal) are trivially proportional: not a signature
        if (!ok || isConstantRow(w, ra, cols)) continue;
        // one orientation whatever the row order: b is the smaller row (|ratio| < 1), so pairs planted as
        // row' = −0.9·row share one ratio wherever the copy landed
        if (Math.abs(ratio) > 1) out.push({ a: b[j], b: b[i], ratio: dot / bb });
        else out.push({ a: b[i], b: b[j], ratio });
      }
    }
  }
  return out;
}

function isConstantRow(w: Float32Array, base: number, cols: number): boolean {
  for (let k = 1; k < cols; k++) if (w[base + k] !== w[base]) return false;
  return true;
}

/** Inverse of the standard normal CDF (Acklam's rational approximation, relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - lo) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/** Inverse CDF of the standard Laplace distribution (density ½e^{−|x|}). */
export function laplaceQuantile(p: number): number {
  return p < 0.5 ? Math.log(2 * p) : -Math.log(2 * (1 - p));
}

/**
 * Correlation of sorted values v with the quantiles F⁻¹(p_i) at the plotting positions
 * p_i = (i + 1 − a)/(k + 1 − 2a) (a = 0: Weibull i/(k+1); a = 3/8: Blom; a = ½: Hazen).
 */
function quantileCorrelation(v: readonly number[], quantile: (p: number) => number, a: number): number | null {
  const k = v.length;
  const z = v.map((_, i) => quantile((i + 1 - a) / (k + 1 - 2 * a)));
  const mv = v.reduce((s, x) => s + x, 0) / k;
  const mz = z.reduce((s, x) => s + x, 0) / k;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < k; i++) {
    sxy += (v[i] - mv) * (z[i] - mz);
    sxx += (v[i] - mv) ** 2;
    syy += (z[i] - mz) ** 2;
  }
  return sxx > 0 && syy > 0 ? Math.min(1, sxy / Math.sqrt(sxx * syy)) : null;
}

export interface LadderFit {
  /** correlation of the biases with the quantiles (1 for an exact ladder) */
  r: number;
  family: 'normal' | 'laplace';
  /** plotting-position constant a of p_i = (i + 1 − a)/(k + 1 − 2a) */
  plotting: number;
  /** one end value left out: the catch-all bin of a cumulative imprint (breaching puts it at −10) */
  trimmed: 'none' | 'low' | 'high';
  /** distinct biases the fit used */
  count: number;
}

/**
 * How well distinct biases form a quantile ladder b_i = μ + σ·F⁻¹(p_i), the construction of imprint layers
 * (Fowl et al., "Robbing the Fed", ICLR 2022: bins of equal mass under a normal measurement, or a Laplace
 * one for Fourier measurements in the authors' breaching library). Tries the normal and Laplace quantile
 * functions, the Weibull, Blom and Hazen plotting positions, and the values with one end value left out
 * (the catch-all bin); returns the best fit over at least `minCount` values, or null.
 *
 * A planted ladder fits to storage rounding (1 − r ≈ 2e-5 in bfloat16, 1e-14 in float32); a random sample
 * of k values does not: its Q–Q correlation has 1 − r of order (log k)/k (Shapiro–Francia).
 */
export function quantileLadderFit(biases: readonly number[], minCount = 4): LadderFit | null {
  const v = [...new Set(biases.filter(Number.isFinite))].sort((x, y) => x - y);
  let best: LadderFit | null = null;
  const variants: [LadderFit['trimmed'], number[]][] = [['none', v], ['low', v.slice(1)], ['high', v.slice(0, -1)]];
  for (const [trimmed, vals] of variants) {
    if (vals.length < minCount) continue;
    for (const [family, q] of [['normal', normalQuantile], ['laplace', laplaceQuantile]] as const) {
      for (const plotting of [0, 0.375, 0.5]) {
        const r = quantileCorrelation(vals, q, plotting);
        if (r !== null && (!best || r > best.r)) best = { r, family, plotting, trimmed, count: vals.length };
      }
    }
  }
  return best;
}

/** Occurrences in w of each value of `values` (exact float32 equality; +0 and −0 are one value). */
export function valueCounts(w: Float32Array, values: Iterable<number>): Map<number, number> {
  const counts = new Map<number, number>();
  for (const x of values) counts.set(x, 0);
  for (let k = 0; k < w.length; k++) {
    const c = counts.get(w[k]);
    if (c !== undefined) counts.set(w[k], c + 1);
  }
  return counts;
}

/**
 * Self-information (bits) of row r under the tensor's own value distribution: −Σ_k log2(count(w_rk)/N).
 * 2^−bits is the chance that another row, its entries drawn from the tensor's values, equals this one.
 * Trained float rows carry thousands of bits; rows of a ternary 3×3 kernel about 14.
 */
export function rowSurprisal(L: LayerValues, r: number, counts: Map<number, number>): number {
  const n = L.w.length;
  let bits = 0;
  for (let k = r * L.cols, e = k + L.cols; k < e; k++) bits -= Math.log2(Math.max(counts.get(L.w[k]) ?? 1, 1) / n);
  return bits;
}

function median(xs: Float64Array): number {
  const s = Float64Array.from(xs).sort();
  const n = s.length;
  return n === 0 ? 0 : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/**
 * Rows that can never fire for any input in [lo, hi]^cols: max over the box of w·x + b is
 * Σ_k (w_k > 0 ? w_k·hi : w_k·lo) + b ≤ 0, and whose L2 norm is ≥ `ratio` × the layer's median row norm.
 */
export function findDeadHighNormRows(L: LayerValues, range: [number, number], ratio: number): { rows: number[]; norms: number[]; median: number; maxRatio: number } {
  const { w, b, rows, cols } = L;
  const [lo, hi] = range;
  const norms = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let k = r * cols, e = k + cols; k < e; k++) s += w[k] * w[k];
    norms[r] = Math.sqrt(s);
  }
  const med = median(norms);
  const out = { rows: [] as number[], norms: [] as number[], median: med, maxRatio: 0 };
  if (!(med > 0)) return out;
  for (let r = 0; r < rows; r++) {
    if (norms[r] < ratio * med) continue;
    let reach = b ? b[r] : 0;
    for (let k = r * cols, e = k + cols; k < e && reach <= 0; k++) {
      const x = w[k];
      reach += x > 0 ? (hi === Infinity ? Infinity : x * hi) : x * lo;
    }
    if (reach <= 0) {
      out.rows.push(r);
      out.norms.push(norms[r]);
      out.maxRatio = Math.max(out.maxRatio, norms[r] / med);
    }
  }
  return out;
}

/**
 * An outgoing weight below this fraction of its column's largest is not a path of its own (it carries less
 * than a thousandth of what the largest does, under a float16 ulp of it). Exact zeros are the plain
 * construction; an attacker who hides them under noise (±1e-3 beside a weight of 100) leaves the same
 * single amplified path.
 */
export const PATH_NEGLIGIBLE = 2 ** -10;

/**
 * Units u of layer A (rows of A, columns of B) whose outgoing column B[:, u] has exactly one entry that is
 * not negligible (|x| > PATH_NEGLIGIBLE × the column's largest; exact zeros in the plain construction) with
 * |value| ≥ gain × the median norm of B's ordinary columns.
 */
export function findLonePaths(A: LayerValues, B: LayerValues, gain: number): { unit: number; to: number; value: number; ratio: number }[] {
  if (B.cols !== A.rows) return [];
  const { w, rows, cols } = B;
  // one pass: each column's largest and second-largest |x| (the column is a lone path when the second is
  // negligible beside the largest) and its squared norm
  const sq = new Float64Array(cols);
  const first = new Float64Array(cols);
  const second = new Float64Array(cols);
  const at = new Int32Array(cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) {
      const x = w[base + c];
      if (x === 0) continue;
      sq[c] += x * x;
      const a = Math.abs(x);
      if (a > first[c]) {
        second[c] = first[c];
        first[c] = a;
        at[c] = r;
      } else if (a > second[c]) second[c] = a;
    }
  }
  const lone = (c: number) => first[c] > 0 && second[c] <= first[c] * PATH_NEGLIGIBLE;
  // The reference scale is the layer's ordinary units (columns with more than one outgoing weight):
  // when an attacker turns most units into traps, a median over all columns would be a trap's own gain.
  const ordinary = Float64Array.from(sq.filter((_, c) => first[c] > 0 && !lone(c)), Math.sqrt);
  const med = median(ordinary.length ? ordinary : Float64Array.from(sq.filter((_, c) => first[c] > 0), Math.sqrt));
  const out: { unit: number; to: number; value: number; ratio: number }[] = [];
  if (!(med > 0) || rows < 2) return out;
  for (let c = 0; c < cols; c++) {
    if (!lone(c)) continue;
    const value = w[at[c] * cols + c];
    const ratio = Math.abs(value) / med;
    if (ratio >= gain) out.push({ unit: c, to: at[c], value, ratio });
  }
  return out;
}

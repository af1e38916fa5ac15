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
import { createKernel, type StatsKernel } from './stats-kernel';
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

/**
 * bfloat16 tensors of at least this many elements are counted in an exact table of all 65536 bit patterns
 * (one increment per element, no decoding) and every 1-D statistic is derived from the table at the end
 * (exact moments, counts, bins and repeats); smaller ones take the general path (the table costs ~0.3 ms
 * per tensor to read out). Mutable for tests only.
 */
export const STATS_TUNING = { table16Min: 1 << 18 };

/** Odd pseudo-random multiplier of column c in the row hashes. */
function columnMultiplier(c: number): number {
  return (Math.imul(c + 1, 0x9e3779b1) ^ 0x5bd1e995) | 1;
}

const ONE_F64 = new Float64Array(1);
const ONE_I32 = new Int32Array(1);

const BITS_F32 = new Float32Array(1);
const BITS_U32 = new Uint32Array(BITS_F32.buffer);

/** float32 bit pattern (as a non-negative int) of a non-negative number, rounded down to float32 */
function bitsOf32(x: number): number {
  BITS_F32[0] = x;
  let b = BITS_U32[0] | 0;
  if (BITS_F32[0] > x) b--; // rounded up: step down so that bits > b still means |value| > x
  return b;
}

function fromBits32(bits: number): number {
  BITS_U32[0] = bits;
  return BITS_F32[0];
}

/** Mean of the finite values of a window (the origin of the first window's sums of powers). */
function windowMean(v: Float32Array, u: Int32Array, n: number): number {
  let s = 0;
  let cnt = 0;
  for (let i = 0; i < n; i++) {
    if ((u[i] & 0x7f800000) === 0x7f800000) continue;
    s += v[i];
    cnt++;
  }
  return cnt > 0 ? s / cnt : 0;
}

interface Moments {
  n: number;
  mean: number;
  m2: number;
  m3: number;
  m4: number;
}

/** Reusable big arrays: only the tensors being streamed hold one, so a 3000-tensor file allocates a handful. */
const POOL: { bins: Float64Array; hist: Int32Array; keys: Int32Array; counts: Int32Array }[] = [];

/** Reusable bfloat16 count tables (256 KiB each). */
const TABLES16: Int32Array[] = [];

// Module-local copies of the imported constants: the hot loops must not read an import binding (under
// some module loaders, tsx's CommonJS interop among them, every read of one is a getter call).
const SHIFT = LOG_SHIFT;
const NBINS = LOG_BINS;
/** the Int32 histogram is folded into the Float64 one before any bin could pass 2^31 */
const FLUSH_EVERY = 1 << 30;

/**
 * Accumulates the statistics of one tensor from its float32 values, window by window, in element order.
 * No allocation per element and one fused loop per window: extremes, counts, the log histogram, repeated
 * values, sums of powers around a shifted origin (the running mean) and, for matrices, row and column
 * accumulators. A window whose mean sits far from that origin (where the sums of powers would lose
 * precision) is redone with a centred second pass.
 */
export class TensorAccumulator {
  readonly tensor: TensorInfo;
  /** elements pushed so far (the row-major index of the next one) */
  index = 0;
  private mom: Moments = { n: 0, mean: NaN, m2: NaN, m3: NaN, m4: NaN };
  private min = Infinity;
  private max = -Infinity;
  // fields that hold doubles start as doubles (a Smi → double change of a field deprecates the object
  // layout and deoptimises the hot loops)
  private absMax = NaN;
  /** bit pattern (sign cleared) of absMax: |x| compares as an integer on finite float32 bits */
  private absBits = -1;
  private absMaxIndex = -1;
  private zeros = 0;
  private nan = 0;
  private posInf = 0;
  private negInf = 0;
  private subnormal = 0;
  private firstNonFinite = -1;
  private bins: Float64Array;
  /** per-element increments go here (integer adds); folded into `bins` every FLUSH_EVERY elements and at the end */
  private hist: Int32Array;
  private sinceFlush = 0;
  /** bit patterns as int32 (the bits arrive through an Int32Array view: V8 keeps them in int32 registers) */
  private keys: Int32Array;
  private counts: Int32Array;
  private readonly trackRepeats: boolean;
  /** bfloat16: exact count of every bit pattern (see STATS_TUNING), or null */
  readonly table16: Int32Array | null = null;
  /** largest |x| bit pattern (16-bit) seen through the table path */
  private abs16 = -1;
  // matrix view [rows, cols]
  private readonly rows: number;
  private readonly cols: number;
  /** Σx² of each row over its even columns (rowSq) and its odd columns (rowSqOdd): two addition chains */
  private rowSq: Float64Array | null = null;
  private rowSqOdd: Float64Array | null = null;
  /** an order-sensitive 32-bit hash of each row's float32 bit patterns (with Σx², the duplicate-row signature) */
  private rowHash: Int32Array | null = null;
  private colSq: Float64Array | null = null;
  /** entries per column that are not non-zero (exact zeros, NaN, ±Infinity): a store only when one occurs */
  private colZero: Int32Array | null = null;
  /** per-column odd multipliers of the row hashes (length cols, or 1 when columns are not tracked) */
  private colMul: Int32Array | null = null;

  /** the WebAssembly kernel holding this tensor's accumulators, or null (the JavaScript loops below) */
  private readonly kernel: StatsKernel | null;

  constructor(tensor: TensorInfo) {
    this.tensor = tensor;
    this.trackRepeats = MANTISSA_BITS[tensor.dtype] !== undefined;
    const shape = tensor.shape;
    this.rows = shape.length >= 2 ? shape[0] : 0;
    this.cols = shape.length >= 2 && shape[0] > 0 ? tensor.numel / shape[0] : 0;
    const matrix = this.rows > 1 && this.cols > 1;
    const hasRows = matrix && this.rows <= STATS_MAX_ROWS;
    const hasCols = matrix && this.cols <= STATS_MAX_COLS;
    const table16 = tensor.dtype === 'bfloat16' && tensor.numel >= STATS_TUNING.table16Min;
    const k = (this.kernel = createKernel(tensor.numel, matrix ? this.rows : 0, matrix ? this.cols : 0, hasRows, hasCols));
    if (k) {
      this.bins = new Float64Array(NBINS);
      this.hist = k.hist;
      this.keys = k.keys;
      this.counts = k.counts;
      if (table16) this.table16 = k.tab16;
      this.rowSq = k.rowSq;
      this.rowSqOdd = k.rowSqOdd;
      this.rowHash = k.rowHash;
      this.colSq = k.colSq;
      this.colZero = k.colZero;
      this.colMul = k.colMul;
      if (this.colMul) for (let c = 0; c < this.cols; c++) this.colMul[c] = columnMultiplier(c);
      return;
    }
    const pooled = POOL.pop();
    this.bins = pooled?.bins ?? new Float64Array(NBINS);
    this.hist = pooled?.hist ?? new Int32Array(NBINS);
    this.keys = pooled?.keys ?? new Int32Array(STATS_REPEAT_SLOTS);
    this.counts = pooled?.counts ?? new Int32Array(STATS_REPEAT_SLOTS);
    if (table16) this.table16 = TABLES16.pop() ?? new Int32Array(65536);
    if (hasRows) {
      this.rowSq = new Float64Array(this.rows);
      this.rowSqOdd = new Float64Array(this.rows);
      this.rowHash = new Int32Array(this.rows);
    }
    if (hasCols) {
      this.colSq = new Float64Array(this.cols);
      this.colZero = new Int32Array(this.cols);
      // fixed pseudo-random odd multipliers per column: the row hashes depend on where each value sits
      this.colMul = new Int32Array(this.cols);
      for (let c = 0; c < this.cols; c++) this.colMul[c] = columnMultiplier(c);
    }
  }

  /**
   * Adds the next `n` values (`u` is the same memory as bit patterns, read as int32: a Uint32Array read
   * gives values above 2^31 that V8 handles as doubles, ~1.6× slower here).
   */
  push(v: Float32Array, u: Int32Array, n: number): void {
    // never more elements than the shape declares (a span longer than the shape, an odd int4 count)
    n = Math.min(n, this.tensor.numel - this.index);
    if (n <= 0) return;
    if (this.sinceFlush + n > FLUSH_EVERY) this.flushHist();
    this.sinceFlush += n;
    // origin of the sums of powers: the running mean, or this first window's own mean
    const k = this.kernel;
    if (k && v.buffer !== k.win.buffer) {
      k.win.set(v.subarray(0, n));
      v = k.win;
      u = k.winBits;
    }
    let origin = this.mom.n > 0 ? this.mom.mean : windowMean(v, u, n);
    if (!Number.isFinite(origin)) origin = 0;
    const clean = k ? this.fusedKernel(k, n, origin) : this.fused(v, u, n, origin);
    if (k) {
      if (this.rows > 1 && this.cols > 1) this.matrixKernel(k, n, clean);
    } else if (this.rowSq || this.colSq) this.matrixPass(v, u, n, clean);
    this.index += n;
  }

  /**
   * Where the window should be decoded to: the kernel's own window (nothing copied on push), or null
   * when this tensor takes the JavaScript loops.
   */
  get window(): { v: Float32Array; u: Int32Array } | null {
    return this.kernel ? { v: this.kernel.win, u: this.kernel.winBits } : null;
  }

  /** `fused` on the kernel: the same window results, read back from its memory. */
  private fusedKernel(k: StatsKernel, n: number, origin: number): boolean {
    k.fused(n, origin, this.thresholdBits(), this.min, this.max, this.absBits);
    const f = k.resF64;
    const r = k.resI32;
    const specials = r[14];
    if (specials > 0) {
      if (this.firstNonFinite < 0) this.firstNonFinite = this.index + r[20];
      this.nan += r[17];
      this.posInf += r[18];
      this.negInf += r[19];
    }
    const zeros = r[15];
    this.finishWindow(k.win, n, origin, f[0], f[1], r[12], r[13], specials, zeros, r[16], f[2], f[3], f[4], f[5]);
    return zeros === 0 && specials === 0;
  }

  /** `matrixPass` on the kernel (row and column accumulators live in its memory). */
  private matrixKernel(k: StatsKernel, n: number, clean: boolean): void {
    const r = Math.floor(this.index / this.cols);
    k.matrix(n, r, this.index - r * this.cols, clean ? 1 : 0);
  }

  /**
   * The heavy-hitter threshold as float32 bits: after the first window only the tails are counted,
   * |x| > 3σ of the values seen so far (see `fused`); above every bit pattern when repeats are not tracked.
   */
  private thresholdBits(): number {
    if (!this.trackRepeats) return 0x7fffffff;
    const thr = this.mom.n > 0 ? 3 * Math.sqrt(this.mom.m2 / this.mom.n) : 0;
    return thr > 0 ? Math.min(0x7f7fffff, bitsOf32(thr)) : 0;
  }

  /**
   * The bfloat16 table path: `h` holds the next `n` raw bfloat16 bit patterns. The matrix view, when
   * there is one, decodes them into `v`/`u` (scratch, at least n long) for the row and column pass.
   */
  push16(h: Uint16Array, v: Float32Array, u: Int32Array, n: number): void {
    n = Math.min(n, this.tensor.numel - this.index);
    if (n <= 0) return;
    const tab = this.table16!;
    const zeros0 = tab[0];
    const negZeros0 = tab[0x8000];
    const matrix = this.rows > 1 && this.cols > 1;
    const k = this.kernel;
    if (k) {
      k.h16.set(h.subarray(0, n));
      k.push16(n, this.abs16, matrix ? 1 : 0);
      const r = k.resI32;
      if (r[20] >= 0 && this.firstNonFinite < 0) this.firstNonFinite = this.index + r[20];
      if (r[13] >= 0) {
        this.abs16 = r[12];
        this.absMaxIndex = this.index + r[13];
      }
      if (matrix) this.matrixKernel(k, n, tab[0] === zeros0 && tab[0x8000] === negZeros0 && this.firstNonFinite < 0);
      this.index += n;
      return;
    }
    let abits = this.abs16;
    let at = -1;
    for (let i = 0; i < n; i++) {
      const x = h[i];
      tab[x]++;
      const a = x & 0x7fff;
      if (a > abits) {
        // NaN and ±Infinity (exponent 0xff) sit above every finite magnitude: only the first is recorded
        if (a >= 0x7f80) {
          if (this.firstNonFinite < 0) this.firstNonFinite = this.index + i;
        } else {
          abits = a;
          at = i;
        }
      }
    }
    if (at >= 0) {
      this.abs16 = abits;
      this.absMaxIndex = this.index + at;
    }
    if (this.rowSq || this.colSq) {
      for (let i = 0; i < n; i++) u[i] = h[i] << 16;
      // no zero in this window (±0 counts unchanged) and no NaN/±Infinity so far
      const clean = tab[0] === zeros0 && tab[0x8000] === negZeros0 && this.firstNonFinite < 0;
      this.matrixPass(v, u, n, clean);
    }
    this.index += n;
  }

  /** Derives the 1-D statistics of the table path from the exact counts (two passes over 65536 entries). */
  private finishTable16(): void {
    const tab = this.table16!;
    const bins = this.bins;
    let n = 0;
    let s = 0;
    let mn = Infinity;
    let mx = -Infinity;
    for (let h = 0; h < 65536; h++) {
      const c = tab[h];
      if (c === 0) continue;
      const b = h << 16;
      const e = b & 0x7f800000;
      if (e === 0x7f800000) {
        if ((b & 0x007fffff) !== 0) this.nan += c;
        else if (h & 0x8000) this.negInf += c;
        else this.posInf += c;
        continue;
      }
      if (e === 0) {
        if ((h & 0x7fff) === 0) this.zeros += c;
        else this.subnormal += c;
      }
      const x = fromBits32(b);
      bins[h >>> 3] += c; // (h << 16) >>> LOG_SHIFT
      n += c;
      s += c * x;
      if (x < mn) mn = x;
      if (x > mx) mx = x;
    }
    if (n === 0) return;
    const mean = s / n;
    let m2 = 0;
    let m3 = 0;
    let m4 = 0;
    for (let h = 0; h < 65536; h++) {
      const c = tab[h];
      if (c === 0 || ((h << 16) & 0x7f800000) === 0x7f800000) continue;
      const d = fromBits32(h << 16) - mean;
      const d2 = d * d;
      m2 += c * d2;
      m3 += c * d2 * d;
      m4 += c * d2 * d2;
    }
    this.mom = { n, mean, m2, m3, m4 };
    this.min = mn;
    this.max = mx;
    this.absMax = fromBits32(this.abs16 << 16);
  }

  /** Repeated values of the table path: exact counts (finite, normal, non-zero values, as the general path). */
  private tableRepeats(p: number): RepeatedValue[] {
    const tab = this.table16!;
    const perBin = 2 ** Math.max(0, p - 4);
    const out: RepeatedValue[] = [];
    for (let h = 0; h < 65536; h++) {
      const c = tab[h];
      const e = (h << 16) & 0x7f800000;
      if (c < 4 || e === 0 || e === 0x7f800000) continue;
      out.push({ value: fromBits32(h << 16), count: c, expected: this.bins[h >>> 3] / perBin });
    }
    out.sort((a, b) => b.count / Math.max(b.expected, 1) - a.count / Math.max(a.expected, 1) || b.count - a.count);
    return out.slice(0, STATS_MAX_REPEATS);
  }

  /** One pass over a window of a tensor without a matrix view. */
  /** Returns whether the window held no zero, NaN or ±Infinity. */
  private fused(v: Float32Array, u: Int32Array, n: number, origin: number): boolean {
    const hist = this.hist;
    // The heavy-hitter table costs ~15 ns per element (random access, unpredictable branches), so after
    // the first window only the tails are counted: |x| > 3σ of the values seen so far. Planted constants
    // (pass-through weights of ~100, LayerNorm constants) live there; identical rows of ordinary values
    // are found by the duplicate-row signature instead. |x| > thr is an integer compare on the bits
    // (|x| ↦ bits is monotone).
    const thrBits = this.thresholdBits();
    let mn = this.min;
    let mx = this.max;
    let abits = this.absBits;
    let amaxAt = -1;
    let specials = 0;
    let zeros = 0;
    let sub = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let s4 = 0;
    for (let i = 0; i < n; i++) {
      const b = u[i];
      const e = b & 0x7f800000;
      if (e === 0x7f800000) {
        specials++;
        this.special(i, b);
        continue;
      }
      const x = v[i];
      hist[b >>> SHIFT]++;
      const a = b & 0x7fffffff;
      if (e === 0) {
        if (a === 0) zeros++;
        else sub++;
      } else if (a > thrBits) this.countRepeat(b);
      if (x < mn) mn = x;
      if (x > mx) mx = x;
      if (a > abits) {
        abits = a;
        amaxAt = i;
      }
      const d = x - origin;
      const d2 = d * d;
      s1 += d;
      s2 += d2;
      s3 += d2 * d;
      s4 += d2 * d2;
    }
    this.finishWindow(v, n, origin, mn, mx, abits, amaxAt, specials, zeros, sub, s1, s2, s3, s4);
    return zeros === 0 && specials === 0;
  }

  /**
   * Row and column accumulators of the matrix view, row segment by row segment, in a second tight loop
   * over the window (still in cache): Σx² per row and per column, zeros per column, and a hash of each
   * row's float32 bit patterns (Σ_c bits_c · mul_c mod 2^32: one multiply-add per element, independent of
   * where windows and chunks fall, so identical rows hash identically however the file was read).
   * NaN and ±Infinity enter the hash but no norm (as before), and count as "not a non-zero entry".
   * `clean`: the window has no zero, NaN or ±Infinity (the common case), so the loop skips those checks.
   */
  private matrixPass(v: Float32Array, u: Int32Array, n: number, clean: boolean): void {
    const cols = this.cols;
    const rowSq = this.rowSq;
    const rowSqOdd = this.rowSqOdd;
    const rowHash = this.rowHash;
    const hasCols = this.colSq !== null;
    const colSq = this.colSq ?? ONE_F64;
    const colZero = this.colZero ?? ONE_I32;
    const colMul = this.colMul ?? ONE_I32;
    let k = this.index;
    let i = 0;
    while (i < n) {
      const r = Math.floor(k / cols);
      const c0 = k - r * cols;
      const len = Math.min(cols - c0, n - i);
      // row accumulators continue the same sequential sum whatever the window boundaries
      const hasRow = rowSq !== null && r < this.rows;
      let rs = hasRow ? rowSq[r] : 0;
      let rsOdd = hasRow ? rowSqOdd![r] : 0;
      let h = hasRow ? rowHash![r] : 0;
      const end = i + len;
      if (hasCols && clean) {
        // the window holds no zero, NaN or ±Infinity (known from the 1-D pass): no per-element checks,
        // two elements per step (even columns into rs, odd ones into rsOdd: two addition chains)
        let j = i;
        let c = c0;
        if (c & 1 && j < end) {
          const x = v[j];
          h = (h + Math.imul(u[j], colMul[c])) | 0;
          rsOdd += x * x;
          colSq[c] += x * x;
          j++;
          c++;
        }
        for (; j + 1 < end; j += 2, c += 2) {
          const x0 = v[j];
          const x1 = v[j + 1];
          h = (h + Math.imul(u[j], colMul[c]) + Math.imul(u[j + 1], colMul[c + 1])) | 0;
          const q0 = x0 * x0;
          const q1 = x1 * x1;
          rs += q0;
          rsOdd += q1;
          colSq[c] += q0;
          colSq[c + 1] += q1;
        }
        if (j < end) {
          const x = v[j];
          h = (h + Math.imul(u[j], colMul[c])) | 0;
          rs += x * x;
          colSq[c] += x * x;
        }
      } else if (hasCols) {
        for (let j = i, c = c0; j < end; j++, c++) {
          const b = u[j];
          h = (h + Math.imul(b, colMul[c])) | 0;
          if ((b & 0x7f800000) === 0x7f800000) {
            colZero[c]++;
            continue;
          }
          const x = v[j];
          const sq = x * x;
          if (c & 1) rsOdd += sq;
          else rs += sq;
          colSq[c] += sq;
          if ((b & 0x7fffffff) === 0) colZero[c]++;
        }
      } else {
        for (let j = i, c = c0; j < end; j++, c++) {
          const b = u[j];
          h = (h + Math.imul(b, columnMultiplier(c))) | 0;
          if ((b & 0x7f800000) === 0x7f800000) continue;
          const x = v[j];
          if (c & 1) rsOdd += x * x;
          else rs += x * x;
        }
      }
      if (hasRow) {
        rowSq[r] = rs;
        rowSqOdd![r] = rsOdd;
        rowHash![r] = h;
      }
      i = end;
      k += len;
    }
  }

  /** Misra–Gries style update of the bounded heavy-hitter table. */
  private countRepeat(b: number): void {
    const h = Math.imul(b, 0x9e3779b1) >>> REPEAT_SHIFT;
    const keys = this.keys;
    const counts = this.counts;
    if (keys[h] === b) counts[h]++;
    else if (counts[h] === 0) {
      keys[h] = b;
      counts[h] = 1;
    } else counts[h]--;
  }

  private finishWindow(
    v: Float32Array, n: number, origin: number, mn: number, mx: number, abits: number, amaxAt: number,
    specials: number, zeros: number, sub: number, s1: number, s2: number, s3: number, s4: number,
  ): void {
    this.min = mn;
    this.max = mx;
    if (amaxAt >= 0) {
      this.absBits = abits;
      this.absMax = fromBits32(abits);
      this.absMaxIndex = this.index + amaxAt;
    }
    this.zeros += zeros;
    this.subnormal += sub;
    const cnt = n - specials;
    if (cnt === 0) return;
    // central moments of the window from sums of powers of (x − origin): exact algebra, and well
    // conditioned while the window's mean lies within about one standard deviation of the origin
    const dm = s1 / cnt;
    const dm2 = dm * dm;
    const m2 = s2 - cnt * dm2;
    if (Number.isFinite(s4) && dm2 * cnt <= m2) {
      const m3 = s3 - 3 * dm * s2 + 2 * cnt * dm2 * dm;
      const m4 = s4 - 4 * dm * s3 + 6 * dm2 * s2 - 3 * cnt * dm2 * dm2;
      mergeMoments(this.mom, cnt, origin + dm, m2, m3, m4);
    } else {
      this.centred(v, n, origin + dm, specials > 0, cnt);
    }
  }

  private special(i: number, b: number): void {
    if (this.firstNonFinite < 0) this.firstNonFinite = this.index + i;
    if ((b & 0x007fffff) !== 0) this.nan++;
    else if (b & 0x80000000) this.negInf++;
    else this.posInf++;
  }

  /** Centred second pass over a window whose mean is far from the shifted origin (rare: a drifting tensor). */
  private centred(v: Float32Array, n: number, approx: number, checked: boolean, cnt: number): void {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const x = v[i];
      if (checked && !(x - x === 0)) continue;
      s += x;
    }
    const mb = Number.isFinite(s) ? s / cnt : approx;
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

  private flushHist(): void {
    const hist = this.hist;
    const bins = this.bins;
    // the kernel keeps one histogram per SIMD lane, one after another
    for (let i = 0; i < hist.length; i++) {
      if (hist[i] !== 0) {
        bins[i & (NBINS - 1)] += hist[i] >>> 0;
        hist[i] = 0;
      }
    }
    this.sinceFlush = 0;
  }

  /** Final statistics; releases the big arrays to the pool. */
  finish(complete: boolean): TensorStats {
    if (this.table16) this.finishTable16();
    const t = this.tensor;
    const m = this.mom;
    const finite = m.n;
    const has = finite > 0;
    this.flushHist();
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
      repeats: this.trackRepeats ? (this.table16 ? this.tableRepeats(MANTISSA_BITS[t.dtype]!) : this.topRepeats(MANTISSA_BITS[t.dtype]!)) : [],
      matrix: this.matrixStats(),
    };
    this.rowSq = this.rowSqOdd = this.colSq = null;
    this.rowHash = this.colZero = this.colMul = null;
    if (this.kernel) {
      this.kernel.release(); // its memory serves the next tensor
      (this as { table16: Int32Array | null }).table16 = null;
      this.hist = this.keys = this.counts = ONE_I32;
      return stats;
    }
    this.bins.fill(0);
    this.keys.fill(0);
    this.counts.fill(0);
    POOL.push({ bins: this.bins, hist: this.hist, keys: this.keys, counts: this.counts });
    if (this.table16) {
      this.table16.fill(0);
      TABLES16.push(this.table16);
      if (TABLES16.length > 2) TABLES16.length = 2;
      (this as { table16: Int32Array | null }).table16 = null;
    }
    if (POOL.length > 4) POOL.length = 4;
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
      for (let r = 0; r < this.rows; r++) this.rowSq[r] += this.rowSqOdd![r];
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
        const key = `${this.rowSq[r]}|${this.rowHash![r]}`;
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
      // entries of column c seen so far: one per whole row, plus one from the last partial row
      const whole = Math.floor(this.index / this.cols);
      const rest = this.index - whole * this.cols;
      for (let c = 0; c < this.cols; c++) {
        norms[c] = Math.sqrt(this.colSq[c]);
        const nnz = whole + (c < rest ? 1 : 0) - this.colZero![c];
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

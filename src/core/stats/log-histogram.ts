import type { Histogram } from './types';

/**
 * An exact log-linear histogram of float32 values, indexed by the top 13 bits of the float32 bit pattern:
 * sign, 8 exponent bits and 4 mantissa bits. Every power of two is split into 16 equal sub-bins, so the
 * binning needs no range known in advance and no Math.log (HdrHistogram's idea applied to IEEE bits).
 * Counts are exact; anything derived inside a bin (quantiles, MAD, the display histogram) assumes values
 * are spread uniformly inside the bin, so its error is at most one sub-bin: 2^-4 of the value's magnitude.
 *
 * NaN and ±Infinity (exponent 255) are never put in; zeros and subnormals sit in the exponent-0 bins.
 */
export const LOG_BINS = 1 << 13;
export const LOG_SHIFT = 19;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function fromBits(bits: number): number {
  u32[0] = bits >>> 0;
  return f32[0];
}

/** Lower and upper magnitude of sub-bin m (0..4095, the index without the sign bit). */
function magnitudeRange(m: number): [number, number] {
  return [fromBits(m << LOG_SHIFT), fromBits((m + 1) << LOG_SHIFT)];
}

/** The histogram's bins in ascending value order, with cumulative counts for quantiles and the CDF. */
export class OrderedBins {
  readonly lo: Float64Array;
  readonly hi: Float64Array;
  readonly count: Float64Array;
  /** cumulative count before bin i */
  readonly before: Float64Array;
  readonly total: number;

  constructor(bins: Float64Array) {
    const lo: number[] = [];
    const hi: number[] = [];
    const count: number[] = [];
    const half = LOG_BINS >> 1;
    // negative values: largest magnitude first; exponent 255 (m ≥ 0xFF0) never holds counts
    for (let m = half - 1; m >= 0; m--) {
      const c = bins[half + m];
      if (c > 0) {
        const [a, b] = magnitudeRange(m);
        lo.push(-b);
        hi.push(-a);
        count.push(c);
      }
    }
    for (let m = 0; m < half; m++) {
      const c = bins[m];
      if (c > 0) {
        const [a, b] = magnitudeRange(m);
        lo.push(a);
        hi.push(b);
        count.push(c);
      }
    }
    this.lo = Float64Array.from(lo);
    this.hi = Float64Array.from(hi);
    this.count = Float64Array.from(count);
    this.before = new Float64Array(count.length);
    let acc = 0;
    for (let i = 0; i < count.length; i++) {
      this.before[i] = acc;
      acc += count[i];
    }
    this.total = acc;
  }

  /** Value below which a fraction q of the values lies (linear inside a bin), clamped to [min, max]. */
  quantile(q: number, min: number, max: number): number {
    if (this.total === 0) return NaN;
    const target = Math.min(Math.max(q, 0), 1) * this.total;
    let a = 0;
    let b = this.count.length - 1;
    while (a < b) {
      const mid = (a + b) >> 1;
      if (this.before[mid] + this.count[mid] < target) a = mid + 1;
      else b = mid;
    }
    const frac = (target - this.before[a]) / this.count[a];
    const v = this.lo[a] + frac * (this.hi[a] - this.lo[a]);
    return Math.min(Math.max(v, min), max);
  }

  /** Number of values ≤ x (linear inside a bin). */
  cdf(x: number): number {
    const n = this.count.length;
    if (n === 0 || x < this.lo[0]) return 0;
    if (x >= this.hi[n - 1]) return this.total;
    let a = 0;
    let b = n - 1;
    while (a < b) {
      const mid = (a + b + 1) >> 1;
      if (this.lo[mid] <= x) a = mid;
      else b = mid - 1;
    }
    if (x >= this.hi[a]) return this.before[a] + this.count[a];
    const w = this.hi[a] - this.lo[a];
    return this.before[a] + (w > 0 ? (this.count[a] * (x - this.lo[a])) / w : this.count[a]);
  }

  /**
   * Median absolute deviation around `median`: the d with cdf(median+d) − cdf(median−d) = total/2, by
   * bisection (the left side is monotone in d).
   */
  mad(median: number, min: number, max: number): number {
    if (this.total === 0) return NaN;
    let a = 0;
    let b = Math.max(max - median, median - min, 0);
    const half = this.total / 2;
    // the bracket may span 3e38 down to subnormals: halve until relative precision 1e-9 (≤ ~1100 steps)
    for (let i = 0; i < 1100 && b - a > Math.max(b * 1e-9, Number.MIN_VALUE); i++) {
      const d = (a + b) / 2;
      if (this.cdf(median + d) - this.cdf(median - d) < half) a = d;
      else b = d;
    }
    return (a + b) / 2;
  }

  /**
   * `bins` fixed-width bins over [lo, hi]: each log bin's count is spread over the display bins it
   * overlaps in proportion to the overlap, then rounded. Values outside go to `below` / `above`.
   */
  display(bins: number, lo: number, hi: number): Histogram {
    const counts = new Float64Array(bins);
    let below = 0;
    let above = 0;
    const width = (hi - lo) / bins;
    for (let i = 0; i < this.count.length; i++) {
      const a = this.lo[i];
      const b = this.hi[i];
      const c = this.count[i];
      const w = b - a;
      if (width <= 0) {
        counts[0] += c;
        continue;
      }
      if (b <= lo) {
        below += c;
        continue;
      }
      if (a >= hi) {
        above += c;
        continue;
      }
      if (a < lo) below += (c * (lo - a)) / w;
      if (b > hi) above += (c * (b - hi)) / w;
      const s = Math.max(a, lo);
      const e = Math.min(b, hi);
      let k = Math.min(bins - 1, Math.floor((s - lo) / width));
      const kEnd = Math.min(bins - 1, Math.floor((e - lo) / width));
      if (w === 0 || k === kEnd) {
        counts[k] += w === 0 ? c : (c * (e - s)) / w;
        continue;
      }
      for (; k <= kEnd; k++) {
        const bs = Math.max(s, lo + k * width);
        const be = Math.min(e, lo + (k + 1) * width);
        if (be > bs) counts[k] += (c * (be - bs)) / w;
      }
    }
    return { lo, hi, counts: Array.from(counts, Math.round), below: Math.round(below), above: Math.round(above) };
  }
}

/** Counts per power of two (sign split), non-empty only; exponent-0 bins (zeros, subnormals) excluded. */
export function log2Counts(bins: Float64Array): { e: number; neg: number; pos: number }[] {
  const out: { e: number; neg: number; pos: number }[] = [];
  const half = LOG_BINS >> 1;
  for (let exp = 1; exp < 255; exp++) {
    let neg = 0;
    let pos = 0;
    for (let s = 0; s < 16; s++) {
      pos += bins[(exp << 4) | s];
      neg += bins[half + ((exp << 4) | s)];
    }
    if (neg || pos) out.push({ e: exp - 127, neg, pos });
  }
  return out;
}

/** The log bin a float32 bit pattern falls in. */
export function logBinOf(bits: number): number {
  return bits >>> LOG_SHIFT;
}

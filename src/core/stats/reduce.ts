import { LOG_BINS, LOG_SHIFT } from './log-histogram';

/**
 * The per-chunk reduction both compute backends implement (CPU here, WebGPU in src/runtime/webgpu): the
 * part of the statistics that is a plain reduction over float32 values. Counts and the log-histogram are
 * exact on both backends; sums are float64 here and float32 partials (combined in float64) on the GPU.
 */
export interface ChunkReduction {
  count: number;
  finite: number;
  min: number;
  max: number;
  sum: number;
  sumSq: number;
  zeros: number;
  nan: number;
  posInf: number;
  negInf: number;
  subnormal: number;
  /** the 8192-bin log-linear histogram of log-histogram.ts (sign, exponent, 4 mantissa bits) */
  logBins: Uint32Array;
}

export interface StatsBackend {
  readonly name: 'cpu' | 'webgpu';
  reduce(values: Float32Array): Promise<ChunkReduction>;
  dispose?(): void;
}

export function cpuReduce(v: Float32Array): ChunkReduction {
  const u = new Uint32Array(v.buffer, v.byteOffset, v.length);
  const logBins = new Uint32Array(LOG_BINS);
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let sumSq = 0;
  let zeros = 0;
  let nan = 0;
  let posInf = 0;
  let negInf = 0;
  let subnormal = 0;
  for (let i = 0; i < v.length; i++) {
    const b = u[i];
    const e = b & 0x7f800000;
    if (e === 0x7f800000) {
      if (b & 0x007fffff) nan++;
      else if (b & 0x80000000) negInf++;
      else posInf++;
      continue;
    }
    if (e === 0) {
      if ((b & 0x7fffffff) === 0) zeros++;
      else subnormal++;
    }
    const x = v[i];
    logBins[b >>> LOG_SHIFT]++;
    if (x < min) min = x;
    if (x > max) max = x;
    sum += x;
    sumSq += x * x;
  }
  return { count: v.length, finite: v.length - nan - posInf - negInf, min, max, sum, sumSq, zeros, nan, posInf, negInf, subnormal, logBins };
}

export const cpuBackend: StatsBackend = {
  name: 'cpu',
  reduce: async (v) => cpuReduce(v),
};

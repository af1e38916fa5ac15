import { describe, expect, it } from 'vitest';
import type { TensorInfo } from '../model/types';
import { createStatsConsumer } from './stats-consumer';

/** Reference moments in float64, two passes over all finite values (what NumPy computes). */
function reference(x: Float32Array) {
  let n = 0;
  let s = 0;
  for (const v of x) if (Number.isFinite(v)) (s += v), n++;
  const mean = s / n;
  let m2 = 0;
  let m4 = 0;
  for (const v of x) {
    if (!Number.isFinite(v)) continue;
    const d = v - mean;
    m2 += d * d;
    m4 += d * d * d * d;
  }
  return { mean, std: Math.sqrt(m2 / n), kurtosis: (n * m4) / (m2 * m2) - 3 };
}

function stats(x: Float32Array, shape: number[], chunk: number) {
  const t: TensorInfo = { name: 't', file: 'f', dtype: 'float32', shape, numel: x.length, offset: 0, length: x.byteLength } as TensorInfo;
  const c = createStatsConsumer([t]);
  const bytes = new Uint8Array(x.buffer);
  for (let o = 0; o < bytes.length; o += chunk) c.update(o, bytes.subarray(o, Math.min(bytes.length, o + chunk)));
  return c.results()[0];
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);

describe('moments from sums of powers around a shifted origin', () => {
  let seed = 12345;
  const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);

  it('match a two-pass float64 reference on a tensor whose mean drifts far from the first window', () => {
    // first 100k values near 0 with σ 1, then 300k values near 1000 with σ 1e-3: the running origin is far
    // from later windows' means, which must then fall back to a centred pass
    const x = new Float32Array(400_000);
    for (let i = 0; i < x.length; i++) x[i] = i < 100_000 ? rnd() * 2 - 1 : 1000 + (rnd() - 0.5) * 2e-3;
    x[123] = NaN;
    x[300_001] = Infinity;
    const want = reference(x);
    for (const chunk of [4093, 1 << 20]) {
      const s = stats(x, [x.length], chunk);
      expect(rel(s.mean!, want.mean)).toBeLessThan(1e-12);
      expect(rel(s.std!, want.std)).toBeLessThan(1e-9);
      expect(Math.abs(s.kurtosis! - want.kurtosis)).toBeLessThan(1e-7 * Math.max(1, Math.abs(want.kurtosis)));
    }
  });

  it('match on a large offset with a small spread (mean 1e4, σ 1e-2) and on a heavy tail', () => {
    const a = new Float32Array(300_000);
    for (let i = 0; i < a.length; i++) a[i] = 1e4 + (rnd() + rnd() + rnd() - 1.5) * 1e-2;
    const b = new Float32Array(300_000);
    for (let i = 0; i < b.length; i++) b[i] = (rnd() < 0.001 ? 1000 : 1) * (rnd() - 0.5);
    for (const x of [a, b]) {
      const want = reference(x);
      const s = stats(x, [600, 500], 65_537);
      expect(rel(s.mean!, want.mean)).toBeLessThan(1e-12);
      expect(rel(s.std!, want.std)).toBeLessThan(1e-9);
      expect(Math.abs(s.kurtosis! - want.kurtosis)).toBeLessThan(1e-7 * Math.max(1, Math.abs(want.kurtosis)));
    }
  });

  it('column non-zero counts and duplicate rows of an incomplete matrix', () => {
    const x = new Float32Array(3 * 5);
    x.set([1, 0, 0, 2, 0], 0);
    x.set([1, 0, 0, 2, 0], 5); // duplicate of row 0
    x.set([0, 0, 3, 0, 0], 10);
    const t: TensorInfo = { name: 't', file: 'f', dtype: 'float32', shape: [4, 5], numel: 20, offset: 0, length: 80 /* only 13 values arrive */ } as TensorInfo;
    const c = createStatsConsumer([t]);
    c.update(0, new Uint8Array(x.buffer).subarray(0, 4 * 13)); // rows 0, 1 and 3 entries of row 2
    const m = c.results()[0].matrix!;
    expect(m.duplicateRowGroups).toEqual([[0, 1]]);
    expect(m.zeroCols).toBe(2); // columns 1 and 4 (row 2 was read up to column 2)
    expect(m.zeroColIndices).toEqual([1, 4]);
    expect(m.singleNonZeroColIndices).toEqual([2]);
  });
});

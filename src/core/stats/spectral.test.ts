import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SPECTRAL_EXACT_MAX } from '../io/limits';
import { computeSpectralMetrics, gramTopEigenvalue, spectralPlan, symmetricEigenvalues, tridiagonalEigenvalues } from './spectral';

interface Expected {
  rows: number;
  cols: number;
  seed: number;
  kind: 'gauss' | 'pareto';
  sigmaMax: number;
  stableRank: number;
  frobenius: number;
  topEigenvalues: number[];
  eigenvalueSum: number;
  smallestEigenvalue: number;
  alpha?: number;
  xmin?: number;
  tailCount?: number;
  ks?: number;
}

const expected = JSON.parse(readFileSync(join(__dirname, '../../../tests/fixtures/spectral/expected.json'), 'utf8')) as Record<string, Expected>;

/** The matrix tests/fixtures/make_spectral_expected.py builds: the same LCG and IEEE-rounded operations. */
function lcgMatrix(rows: number, cols: number, seed: number, kind: Expected['kind']): Float32Array {
  let s = seed;
  const u = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 2 ** 32;
  };
  const w = new Float32Array(rows * cols);
  for (let i = 0; i < w.length; i++) {
    if (kind === 'gauss') w[i] = (u() + u() + u() + u() - 2) * 0.05;
    else {
      const a = u();
      w[i] = (a < 0.5 ? 0.02 : -0.02) / Math.sqrt(u());
    }
  }
  return w;
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe('spectral metrics against NumPy/LAPACK (tests/fixtures/make_spectral_expected.py)', () => {
  it('covers both methods', () => {
    const methods = Object.values(expected).map((e) => spectralPlan(e.rows, e.cols).method);
    expect(methods.filter((m) => m === 'exact').length).toBe(4);
    expect(methods.filter((m) => m === 'lanczos').length).toBe(2);
    expect(SPECTRAL_EXACT_MAX).toBe(512);
  });

  for (const [name, e] of Object.entries(expected)) {
    it(`${name}: σ_max, stable rank${e.alpha !== undefined ? ' and the power-law fit' : ''}`, () => {
      const w = lcgMatrix(e.rows, e.cols, e.seed, e.kind);
      const m = computeSpectralMetrics(w, e.rows, e.cols)!;
      expect(m.method).toBe(spectralPlan(e.rows, e.cols).method);
      expect(rel(m.spectralNorm, e.sigmaMax)).toBeLessThan(1e-8);
      expect(rel(m.stableRank, e.stableRank)).toBeLessThan(1e-7);
      expect(rel(m.frobeniusNorm, e.frobenius)).toBeLessThan(1e-9);
      if (e.alpha === undefined) {
        expect(m.alpha).toBeNull();
        return;
      }
      expect(rel(m.alpha!, e.alpha)).toBeLessThan(1e-6);
      expect(rel(m.xmin!, e.xmin!)).toBeLessThan(1e-6);
      expect(m.tailCount).toBe(e.tailCount);
      expect(m.ksDistance!).toBeCloseTo(e.ks!, 6);
    });
  }

  it('every eigenvalue of a Gram matrix, as eigvalsh gives them', () => {
    const e = expected['gauss-400x700'];
    const w = lcgMatrix(e.rows, e.cols, e.seed, e.kind);
    const n = e.rows;
    const g = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = i; j < n; j++) {
        let s = 0;
        for (let k = 0; k < e.cols; k++) s += w[i * e.cols + k] * w[j * e.cols + k];
        g[i * n + j] = s;
        g[j * n + i] = s;
      }
    }
    const ev = symmetricEigenvalues(g, n);
    const top = Array.from(ev).reverse().slice(0, 5);
    top.forEach((x, i) => expect(rel(x, e.topEigenvalues[i])).toBeLessThan(1e-10));
    expect(rel(ev.reduce((a, b) => a + b, 0), e.eigenvalueSum)).toBeLessThan(1e-10);
    expect(Math.abs(ev[0] - e.smallestEigenvalue)).toBeLessThan(1e-12 * e.topEigenvalues[0]);
    for (let i = 1; i < n; i++) expect(ev[i]).toBeGreaterThanOrEqual(ev[i - 1]);
  });

  it('Lanczos finds the top eigenvalue of the Gram operator from either side', () => {
    const e = expected['pareto-600x900'];
    const w = lcgMatrix(e.rows, e.cols, e.seed, e.kind);
    const { lambda, steps } = gramTopEigenvalue(w, e.rows, e.cols);
    expect(rel(lambda, e.topEigenvalues[0])).toBeLessThan(1e-9);
    expect(steps).toBeLessThanOrEqual(40);
    // the transpose: the operator then acts on the other side's vectors
    const t = new Float32Array(w.length);
    for (let r = 0; r < e.rows; r++) for (let c = 0; c < e.cols; c++) t[c * e.rows + r] = w[r * e.cols + c];
    expect(rel(gramTopEigenvalue(t, e.cols, e.rows).lambda, e.topEigenvalues[0])).toBeLessThan(1e-9);
  });

  it('tridiagonal eigenvalues: the second-difference matrix 2 − 2cos(kπ/(n+1)), and a single one by index', () => {
    const n = 50;
    const d = new Float64Array(n).fill(2);
    const off = new Float64Array(n - 1).fill(-1);
    const ev = tridiagonalEigenvalues(d, off);
    for (let k = 1; k <= n; k++) expect(ev[k - 1]).toBeCloseTo(2 - 2 * Math.cos((k * Math.PI) / (n + 1)), 13);
    expect(tridiagonalEigenvalues(d, off, n - 1)[0]).toBe(ev[n - 1]);
    // a zero off-diagonal splits the matrix: eigenvalues of the blocks
    const split = tridiagonalEigenvalues(Float64Array.from([3, 1]), Float64Array.from([0]));
    expect(split[0]).toBeCloseTo(1, 14);
    expect(split[1]).toBeCloseTo(3, 14);
  });

  it('a matrix with known singular values: diag(5, 3, 1) padded to 3×6', () => {
    const w = new Float32Array(18);
    w[0] = 5;
    w[6 + 1] = 3;
    w[12 + 2] = 1;
    const m = computeSpectralMetrics(w, 3, 6)!;
    expect(m.spectralNorm).toBeCloseTo(5, 12);
    expect(m.stableRank).toBeCloseTo(35 / 25, 12);
    // a dense 3×3: the trace and the determinant
    const ev = symmetricEigenvalues(Float64Array.from([4, 1, 2, 1, 3, 0, 2, 0, 5]), 3);
    expect(ev[0] + ev[1] + ev[2]).toBeCloseTo(12, 12);
    expect(ev[0] * ev[1] * ev[2]).toBeCloseTo(4 * 15 - 1 * 5 + 2 * -6, 10);
  });

  it('refuses what it cannot measure: empty, non-finite, a single row', () => {
    expect(computeSpectralMetrics(new Float32Array(4), 1, 4)).toBeNull();
    expect(computeSpectralMetrics(Float32Array.from([1, NaN, 2, 3]), 2, 2)).toBeNull();
    expect(computeSpectralMetrics(new Float32Array(3), 2, 2)).toBeNull();
  });
});

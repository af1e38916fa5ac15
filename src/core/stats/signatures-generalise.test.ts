import { describe, expect, it } from 'vitest';
import { findLonePaths, findProportionalRows, normalQuantile, quantileLadderFit, type LayerValues } from './signatures';
import { dataFlowOrder, structureFindings } from './weights-analysis';

/** The detector changes the generalisation set (tests/fixtures/make_generalise.py) asked for, on built values. */

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
}

function gaussian(n: number, seed: number, scale = 1): Float32Array {
  const u = rng(seed);
  return Float32Array.from({ length: n }, () => scale * Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()));
}

const layer = (name: string, w: Float32Array, rows: number, cols: number, b: Float32Array | null = null): LayerValues => ({ name, file: 'f', biasName: b ? name.replace(/weight$/, 'bias') : null, w, b, rows, cols });

describe('data-flow order when names do not sort that way', () => {
  const L = (name: string, out: number, inn: number) => ({ name, out, in: inn });

  it('input → hidden → output sorts hidden, input, output; shapes put it back', () => {
    const byName = [L('hidden', 64, 128), L('input', 128, 256), L('output', 10, 64)];
    expect(dataFlowOrder(byName).map((l) => l.name)).toEqual(['input', 'hidden', 'output']);
  });

  it('keeps name order where it chains, and where shapes are ambiguous', () => {
    const mlp = [L('fc1', 128, 256), L('fc2', 64, 128), L('fc3', 10, 64)];
    expect(dataFlowOrder(mlp)).toEqual(mlp);
    // two layers could feed "b" (both output 32): no guess
    const amb = [L('b', 10, 32), L('x', 32, 16), L('y', 32, 8)];
    expect(dataFlowOrder(amb).map((l) => l.name)).toEqual(['b', 'x', 'y']);
    // an autoencoder's halves feed each other: name order
    const ae = [L('decoder', 784, 128), L('encoder', 128, 784)];
    expect(dataFlowOrder(ae).map((l) => l.name)).toEqual(['decoder', 'encoder']);
  });
});

describe('quantile ladders', () => {
  it('normal and Laplace ladders fit exactly, with or without the catch-all bin', () => {
    const normal = Array.from({ length: 20 }, (_, i) => -0.3 - 0.1 * normalQuantile((i + 1) / 21));
    expect(1 - quantileLadderFit(normal)!.r).toBeLessThan(1e-9);
    // breaching's cumulative bins: −10, then Laplace quantiles at i/K, biases −bin·gain
    const K = 50;
    const lap = (p: number) => (p < 0.5 ? Math.log(2 * p) : -Math.log(2 * (1 - p))) / Math.SQRT2;
    const bins = [-10, ...Array.from({ length: K - 1 }, (_, i) => lap((i + 1) / K))];
    const fit = quantileLadderFit(bins.map((b) => Math.fround(-b * 1e-3)))!;
    expect(fit).toMatchObject({ family: 'laplace', trimmed: 'high', count: K - 1 });
    expect(1 - fit.r).toBeLessThan(1e-9);
  });

  it('random biases do not fit to 1e-4, whatever their number', () => {
    for (const k of [8, 32, 256]) {
      for (let seed = 1; seed <= 20; seed++) {
        const u = rng(seed * 7 + k);
        for (const sample of [Array.from(gaussian(k, seed * 13 + k)), Array.from({ length: k }, () => u() - 0.5)]) {
          expect(1 - quantileLadderFit(sample)!.r).toBeGreaterThan(1e-4);
        }
      }
    }
  });
});

describe('row coincidences that chance explains', () => {
  it('a ternary 3×3 depthwise kernel set (rows negating each other by chance) is not a trap', () => {
    const rows = 256;
    const u = rng(5);
    const w = Float32Array.from({ length: rows * 9 }, () => {
      const x = u();
      return x < 0.35 ? 0 : x < 0.675 ? 0.2 : -0.2;
    });
    // make sure there are coincidences: a copy and two negated pairs
    for (let k = 0; k < 9; k++) {
      w[1 * 9 + k] = w[0 * 9 + k];
      w[3 * 9 + k] = -w[2 * 9 + k];
      w[5 * 9 + k] = -w[4 * 9 + k];
    }
    const L = layer('features.3.weight', w, rows, 9, gaussian(rows, 6, 0.1));
    expect(findProportionalRows(L).length).toBeGreaterThanOrEqual(2);
    expect(structureFindings([L], [true]).filter((f) => f.category === 'privacy-trap')).toEqual([]);
  });

  it('mirrored float rows stay a dangerous trap, one ratio whichever row holds the copy', () => {
    const rows = 32;
    const cols = 64;
    const w = gaussian(rows * cols, 8, 0.05);
    const pairs = [[3, 20], [25, 4], [9, 30]];
    for (const [a, b] of pairs) for (let k = 0; k < cols; k++) w[b * cols + k] = Math.fround(-0.9 * w[a * cols + k]);
    const f = structureFindings([layer('fc1.weight', w, rows, cols)], [true]).find((x) => x.id === 'privacy/mirrored-rows')!;
    expect(f.severity).toBe('dangerous');
    expect(f.evidence!.ratio as number).toBeCloseTo(-0.9, 6);
    expect((f.evidence!.pairs as number[][]).map((p) => p.join('>')).sort()).toEqual(pairs.map((p) => p.join('>')).sort());
  });
});

describe('lone paths under noise', () => {
  it('a trap column whose zeros are 1e-3 noise is still a lone path; ordinary columns are not', () => {
    const hidden = 64;
    const out = 16;
    const A = layer('fc1.weight', gaussian(hidden * 8, 1, 0.1), hidden, 8);
    const w = gaussian(out * hidden, 2, 0.1);
    const noise = gaussian(out * hidden, 3, 1e-3);
    for (const u of [5, 40]) for (let o = 0; o < out; o++) w[o * hidden + u] = o === 7 ? 100 * (1 + u / 1000) : noise[o * hidden + u];
    const found = findLonePaths(A, layer('fc2.weight', w, out, hidden), 50);
    expect(found.map((p) => [p.unit, p.to])).toEqual([[5, 7], [40, 7]]);
    expect(findLonePaths(A, layer('fc2.weight', gaussian(out * hidden, 4, 0.1), out, hidden), 50)).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { findLonePaths, type LayerValues } from './signatures';

/** fc1 [hidden × in] → fc2 [out × hidden]; `traps` hidden units get one outgoing weight of 1e4 into the last output. */
function layers(hidden: number, traps: number): [LayerValues, LayerValues] {
  const inp = 16;
  const out = 10;
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.2;
  const w1 = Float32Array.from({ length: hidden * inp }, rand);
  const w2 = Float32Array.from({ length: out * hidden }, rand);
  for (let u = 0; u < traps; u++) {
    for (let o = 0; o < out; o++) w2[o * hidden + u] = 0;
    w2[(out - 1) * hidden + u] = 1e4;
  }
  return [
    { name: 'fc1.weight', file: 'm', biasName: null, w: w1, b: null, rows: hidden, cols: inp },
    { name: 'fc2.weight', file: 'm', biasName: null, w: w2, b: null, rows: out, cols: hidden },
  ];
}

describe('lone high-gain paths', () => {
  it('finds a few trap units among ordinary ones', () => {
    const [a, b] = layers(64, 4);
    expect(findLonePaths(a, b, 50).map((p) => p.unit)).toEqual([0, 1, 2, 3]);
  });

  it('still finds them when most of the layer was turned into traps (the scale is the ordinary units)', () => {
    const [a, b] = layers(64, 48);
    const found = findLonePaths(a, b, 50);
    expect(found).toHaveLength(48);
    expect(found.every((p) => p.to === 9 && p.value === 1e4)).toBe(true);
  });

  it('finds nothing in an ordinary layer', () => {
    const [a, b] = layers(64, 0);
    expect(findLonePaths(a, b, 50)).toEqual([]);
  });
});

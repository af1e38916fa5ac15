import { describe, expect, it } from 'vitest';
import { cloneMlp, createMlp, forward, gradients, sgdStep, type Batch, type Mlp } from './mlp';
import { createRng } from './prng';

function lossOf(m: Mlp, b: Batch): number {
  const { probs } = forward(m, b.xs, b.n);
  let l = 0;
  for (let k = 0; k < b.n; k++) l -= Math.log(probs[k * m.outputs + b.ys[k]]) / b.n;
  return l;
}

function tiny(): { m: Mlp; batch: Batch } {
  const rng = createRng(42);
  const m = createMlp(6, 5, 4, rng);
  for (let j = 0; j < 5; j++) m.b1[j] = 0.3 + 0.1 * rng.normal();
  const n = 3;
  const xs = new Float32Array(n * 6);
  for (let i = 0; i < xs.length; i++) xs[i] = rng.next();
  return { m, batch: { n, xs, ys: Int32Array.from([0, 2, 3]) } };
}

describe('mlp', () => {
  it('backward pass matches central finite differences of the loss', () => {
    const { m, batch } = tiny();
    const g = gradients(m, batch);
    expect(g.loss).toBeCloseTo(lossOf(m, batch), 12);
    const eps = 1e-3;
    let worst = 0;
    for (const key of ['w1', 'b1', 'w2', 'b2'] as const) {
      for (let i = 0; i < m[key].length; i++) {
        const plus = cloneMlp(m);
        const minus = cloneMlp(m);
        plus[key][i] += eps;
        minus[key][i] -= eps;
        // the float32 parameters move by exactly their rounded step
        const h = plus[key][i] - minus[key][i];
        const numeric = (lossOf(plus, batch) - lossOf(minus, batch)) / h;
        worst = Math.max(worst, Math.abs(numeric - g[key][i]));
      }
    }
    expect(worst).toBeLessThan(1e-5);
  });

  it('one SGD step moves every parameter by exactly −η·gradient (up to float32 rounding)', () => {
    const { m, batch } = tiny();
    const g = gradients(m, batch);
    const { model, loss } = sgdStep(m, batch, 0.25);
    expect(loss).toBeCloseTo(g.loss, 12);
    for (let i = 0; i < m.w1.length; i++) expect(model.w1[i]).toBe(Math.fround(m.w1[i] - 0.25 * g.w1[i]));
    for (let j = 0; j < m.b1.length; j++) expect(model.b1[j]).toBe(Math.fround(m.b1[j] - 0.25 * g.b1[j]));
    expect(lossOf(model, batch)).toBeLessThan(lossOf(m, batch));
    // the input is untouched: the step works on a copy
    expect(Array.from(m.w1)).not.toEqual(Array.from(model.w1));
  });

  it('a first-layer row of a unit that fired on a single example moves along that example', () => {
    const { m, batch } = tiny();
    const one: Batch = { n: 1, xs: batch.xs.slice(0, 6), ys: batch.ys.slice(0, 1) };
    const g = gradients(m, one);
    const { pre } = forward(m, one.xs, 1);
    for (let j = 0; j < m.hidden; j++) {
      if (pre[j] <= 0) {
        expect(g.b1[j]).toBe(0);
        continue;
      }
      for (let i = 0; i < 6; i++) expect(g.w1[j * 6 + i]).toBeCloseTo(g.b1[j] * one.xs[i], 14);
    }
  });
});

/**
 * The attacker's read-out (THREATS.md §7). Plain SGD changes row j of the first layer by
 * Δw_j = −η Σ_n g_{j,n} x_n and its bias by Δb_j = −η Σ_n g_{j,n}, summed over the examples n on which
 * unit j fired. When exactly one example fired it, Δw_j / Δb_j = x: the example itself, from the
 * weights before and after alone. A unit that fired on several examples gives a weighted blend.
 */
import type { Mlp } from './mlp';

export interface UnitReadout {
  unit: number;
  /** b_after − b_before */
  deltaBias: number;
  /** Δw / Δb, or null when the bias did not move (the unit never fired) */
  image: Float64Array | null;
}

/** Δw_j / Δb_j for one hidden unit, from two versions of the same model. */
export function readUnit(before: Mlp, after: Mlp, j: number): UnitReadout {
  const D = before.inputs;
  const deltaBias = after.b1[j] - before.b1[j];
  if (deltaBias === 0) return { unit: j, deltaBias, image: null };
  const image = new Float64Array(D);
  for (let i = 0; i < D; i++) image[i] = (after.w1[j * D + i] - before.w1[j * D + i]) / deltaBias;
  return { unit: j, deltaBias, image };
}

/** Every unit whose bias moved, read out. */
export function readAllUnits(before: Mlp, after: Mlp): UnitReadout[] {
  const out: UnitReadout[] = [];
  for (let j = 0; j < before.hidden; j++) out.push(readUnit(before, after, j));
  return out;
}

export function maxAbsError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let e = 0;
  for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i] - b[i]));
  return e;
}

/**
 * The largest value unit j can reach on any input with pixels in [lo, hi]:
 * b + Σ max(w_i·lo, w_i·hi). At or below 0, the unit can never fire again (THREATS.md §7's
 * "Σ max(w,0)·range + b ≤ 0" for a [0, range] input box).
 */
export function maxPreActivation(m: Mlp, j: number, lo = 0, hi = 1): number {
  let s = m.b1[j];
  const D = m.inputs;
  for (let i = 0; i < D; i++) {
    const w = m.w1[j * D + i];
    s += Math.max(w * lo, w * hi);
  }
  return s;
}

/** Fraction of the `n` inputs in `xs` on which unit j fires (pre-activation > 0). */
export function firingRate(m: Mlp, j: number, xs: Float32Array, n: number): number {
  const D = m.inputs;
  let fired = 0;
  for (let k = 0; k < n; k++) {
    let a = m.b1[j];
    for (let i = 0; i < D; i++) a += m.w1[j * D + i] * xs[k * D + i];
    if (a > 0) fired++;
  }
  return n ? fired / n : 0;
}

/**
 * The attacker's edit (Feng & Tramèr, "Privacy Backdoors: Stealing Data with Corrupted Pretrained
 * Models", ICML 2024; THREATS.md §7): k hidden units of a pretrained model become single-use data traps.
 *
 * - Bait: the unit's weight row becomes a random unit direction w = r/‖r‖. The attacker cannot know the
 *   victim's data, so any direction is as good as another; random ones point at different examples.
 * - Threshold: the attacker estimates the distribution of w·x over natural-looking samples and sets
 *   −b to a high quantile, so the unit fires only on the rare tail: the model still behaves normally,
 *   and during fine-tuning the trap fires on (ideally) a single example.
 * - Amplifier: the unit's only outgoing weight is a large value into a logit no label uses. When the
 *   trap fires, that logit jumps, the softmax puts its mass there, and the gradient reaching the unit is
 *   ~amplification × p(spare): one SGD step then writes Δw = −ηg·x, Δb = −ηg, a scaled copy of the
 *   input, and the big negative Δb shuts the unit off so later steps never overwrite the copy.
 */
import { cloneMlp, forward, train, type Batch, type Mlp } from './mlp';
import type { Rng } from './prng';

export interface TrapOptions {
  /** how many hidden units become traps */
  count: number;
  /** fraction of natural inputs a trap is meant to fire on (the tail beyond −b) */
  tailFraction: number;
  /** the trap's single outgoing weight into the spare logit */
  amplification: number;
  /** the logit no training label uses */
  spareLogit: number;
  rng: Rng;
}

export interface Trap {
  unit: number;
  /** −b: the (1 − tailFraction) quantile of w·x over the attacker's natural samples */
  threshold: number;
  /** fraction of the calibration samples above the threshold */
  calibrationRate: number;
}

export interface TrappedModel {
  model: Mlp;
  traps: Trap[];
  spareLogit: number;
}

/** The value below which a fraction `p` of `values` lies (linear interpolation, like numpy's default). */
export function quantile(values: Float64Array, p: number): number {
  const s = Float64Array.from(values).sort();
  if (s.length === 0) return NaN;
  const at = Math.max(0, Math.min(s.length - 1, p * (s.length - 1)));
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return s[lo] + (s[hi] - s[lo]) * (at - lo);
}

/**
 * The units the attacker sacrifices: those the model relies on least (mean activation on natural data ×
 * outgoing weight), so the trapped model keeps most of its accuracy and looks as useful as the original.
 */
export function leastUsefulUnits(m: Mlp, natural: Batch, count: number): number[] {
  const { pre } = forward(m, natural.xs, natural.n);
  const H = m.hidden;
  const use = Array.from({ length: H }, (_, j) => {
    let act = 0;
    for (let k = 0; k < natural.n; k++) act += Math.max(0, pre[k * H + j]);
    let out = 0;
    for (let c = 0; c < m.outputs; c++) out += Math.abs(m.w2[c * H + j]);
    return { j, score: (act / Math.max(1, natural.n)) * out };
  });
  return use.sort((a, b) => a.score - b.score).slice(0, count).map((u) => u.j).sort((a, b) => a - b);
}

export function plantTraps(clean: Mlp, natural: Batch, opts: TrapOptions): TrappedModel {
  const m = cloneMlp(clean);
  const { inputs: D, hidden: H, outputs: C } = m;
  const units = leastUsefulUnits(clean, natural, opts.count);
  const traps: Trap[] = [];
  const scores = new Float64Array(natural.n);
  for (const j of units) {
    const r = new Float64Array(D);
    let norm = 0;
    for (let i = 0; i < D; i++) norm += (r[i] = opts.rng.normal()) ** 2;
    norm = Math.sqrt(norm);
    for (let i = 0; i < D; i++) m.w1[j * D + i] = r[i] / norm;
    for (let k = 0; k < natural.n; k++) {
      let s = 0;
      for (let i = 0; i < D; i++) s += m.w1[j * D + i] * natural.xs[k * D + i];
      scores[k] = s;
    }
    const threshold = quantile(scores, 1 - opts.tailFraction);
    m.b1[j] = -threshold;
    let above = 0;
    for (let k = 0; k < natural.n; k++) if (scores[k] + m.b1[j] > 0) above++;
    for (let c = 0; c < C; c++) m.w2[c * H + j] = c === opts.spareLogit ? opts.amplification : 0;
    traps.push({ unit: j, threshold, calibrationRate: above / Math.max(1, natural.n) });
  }
  // The spare logit listens to the traps only: zero elsewhere, so it stays silent until a trap fires and
  // then takes the softmax mass that turns into the trap's large gradient.
  const trapUnits = new Set(units);
  for (let j = 0; j < H; j++) if (!trapUnits.has(j)) m.w2[opts.spareLogit * H + j] = 0;
  m.b2[opts.spareLogit] = 0;
  return { model: m, traps, spareLogit: opts.spareLogit };
}

/**
 * The attacker repairs the damage: a few epochs of ordinary training on public data with the trap
 * parameters held fixed, so the honest units take over the work of the ones that became traps and the
 * trapped model scores about as well as the original on any benchmark a user might run.
 */
export function retrainAroundTraps(t: TrappedModel, data: Batch, opts: { epochs: number; batchSize: number; lr: number; rng: Rng }): TrappedModel {
  const { inputs: D, hidden: H, outputs: C } = t.model;
  const keep = t.traps.map((tr) => ({
    unit: tr.unit,
    w1: t.model.w1.slice(tr.unit * D, tr.unit * D + D),
    b1: t.model.b1[tr.unit],
    w2: Array.from({ length: C }, (_, c) => t.model.w2[c * H + tr.unit]),
  }));
  const spare = t.spareLogit;
  const spareRow = t.model.w2.slice(spare * H, spare * H + H);
  const spareBias = t.model.b2[spare];
  const restore = (m: Mlp) => {
    m.w2.set(spareRow, spare * H);
    m.b2[spare] = spareBias;
    for (const k of keep) {
      m.w1.set(k.w1, k.unit * D);
      m.b1[k.unit] = k.b1;
      for (let c = 0; c < C; c++) m.w2[c * H + k.unit] = k.w2[c];
    }
  };
  const { model } = train(t.model, data, { ...opts, afterStep: restore });
  return { model, traps: t.traps, spareLogit: spare };
}

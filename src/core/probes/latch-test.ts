import { PROBE_LATCH_LR, PROBE_LATCH_MAX_VERTEX_CANARIES, PROBE_LATCH_RATIO, PROBE_MAX_UNITS } from '../io/limits';
import { throwIfAborted } from '../io/errors';
import { forwardStack, type MlpStack } from './mlp-stack';
import type { LatchReport, LatchUnit } from './types';

/**
 * The latch test (THREATS.md §7–§8, Feng & Tramèr, ICML 2024): simulate the one SGD step a victim's
 * fine-tuning would take on a single private example, and see whether a unit "latches": its bias
 * jumps by ≥ 100× the layer's typical step and the unit can then never fire again on any input in
 * range — the trap has written the example into its weights (Δw = −ηg·x, Δb = −ηg) and shut itself off.
 *
 * Canaries: the synthetic probes, plus for every first-layer unit the vertex of the input box that
 * excites it most (x_i = hi where w_i > 0, lo elsewhere): whatever a unit can fire on, it fires on that.
 * Loss: softmax cross-entropy against the runner-up class (a label the model does not already predict,
 * so the gradient is never zero). Everything is float64 over the decoded weights.
 */

export interface LatchOptions {
  learningRate?: number;
  /** the box every input lies in; [0, 1] for pixels */
  inputRange?: [number, number];
  ratio?: number;
  signal?: AbortSignal;
  /** activation read from a graph, or assumed for weight-only files */
  activationAssumed?: boolean;
}

interface Step {
  /** per hidden layer: bias step (−η·δ) of every unit */
  biasSteps: Float64Array[];
  deltas: Float64Array[];
  acts: Float64Array[];
}

/** One SGD step's gradients for one example (hidden-layer bias steps, deltas and inputs of every layer). */
function sgdStep(stack: MlpStack, x: ArrayLike<number>, lr: number): Step {
  const pre = forwardStack(stack, x);
  const L = stack.layers.length;
  const logits = pre[L - 1];
  // runner-up class as the label
  let top = 0;
  for (let k = 1; k < logits.length; k++) if (logits[k] > logits[top]) top = k;
  let target = top === 0 ? 1 : 0;
  for (let k = 0; k < logits.length; k++) if (k !== top && logits[k] > logits[target]) target = k;
  const m = Math.max(...logits);
  const ex = logits.map((v) => Math.exp(v - m));
  const sum = ex.reduce((a, b) => a + b, 0);
  let delta = ex.map((v) => v / sum);
  delta[target] -= 1;
  const deltas: Float64Array[] = new Array(L);
  deltas[L - 1] = delta;
  for (let l = L - 2; l >= 0; l--) {
    const next = stack.layers[l + 1];
    const d = new Float64Array(stack.layers[l].out);
    for (let k = 0; k < next.out; k++) {
      const dk = delta[k];
      if (dk === 0) continue;
      const row = k * next.in;
      for (let j = 0; j < next.in; j++) d[j] += next.weight[row + j] * dk;
    }
    const z = pre[l];
    for (let j = 0; j < d.length; j++) if (!(z[j] > 0)) d[j] = 0;
    deltas[l] = d;
    delta = d;
  }
  const acts: Float64Array[] = [Float64Array.from(x)];
  for (let l = 0; l < L - 1; l++) acts.push(pre[l].map((v) => (v > 0 ? v : 0)));
  return { biasSteps: deltas.slice(0, L - 1).map((d) => d.map((v) => -lr * v)), deltas, acts };
}

/**
 * Upper bound of every hidden unit's pre-activation over the input box (interval arithmetic through
 * the ReLU stack). A unit whose bound is ≤ 0 is dead on the whole input range.
 */
export function reachBounds(stack: MlpStack, range: [number, number], patch?: { layer: number; weight: Float64Array; bias: Float64Array }[]): Float64Array[] {
  const out: Float64Array[] = [];
  let lo: Float64Array = new Float64Array(stack.layers[0].in).fill(range[0]);
  let hi: Float64Array = new Float64Array(stack.layers[0].in).fill(range[1]);
  for (let l = 0; l < stack.layers.length - 1; l++) {
    const layer = stack.layers[l];
    const p = patch?.find((q) => q.layer === l);
    const W = p ? p.weight : layer.weight;
    const B = p ? p.bias : layer.bias;
    const up = new Float64Array(layer.out);
    const down = new Float64Array(layer.out);
    for (let j = 0; j < layer.out; j++) {
      let u = B[j];
      let d = B[j];
      const row = j * layer.in;
      for (let i = 0; i < layer.in; i++) {
        const w = W[row + i];
        if (w > 0) {
          u += w * hi[i];
          d += w * lo[i];
        } else {
          u += w * lo[i];
          d += w * hi[i];
        }
      }
      up[j] = u;
      down[j] = d;
    }
    out.push(up);
    lo = down.map((v) => Math.max(0, v));
    hi = up.map((v) => Math.max(0, v));
  }
  return out;
}

function median(values: number[]): number {
  if (!values.length) return 0;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function runLatchTest(stack: MlpStack, probes: readonly ArrayLike<number>[], options: LatchOptions = {}): LatchReport {
  const lr = options.learningRate ?? PROBE_LATCH_LR;
  const range = options.inputRange ?? [0, 1];
  const ratioMin = options.ratio ?? PROBE_LATCH_RATIO;
  const L = stack.layers.length;
  const first = stack.layers[0];
  const canaries: { label: string; x: Float64Array }[] = probes.map((p, i) => ({ label: `probe:${i}`, x: Float64Array.from(p) }));
  for (let j = 0; j < Math.min(first.out, PROBE_LATCH_MAX_VERTEX_CANARIES); j++) {
    const x = new Float64Array(first.in);
    for (let i = 0; i < first.in; i++) x[i] = first.weight[j * first.in + i] > 0 ? range[1] : range[0];
    canaries.push({ label: `vertex:${j}`, x });
  }
  // Pass 1: every canary's bias steps; the layer's reference is the median step over active units.
  const steps: Float64Array[][] = [];
  const active: number[][] = Array.from({ length: L - 1 }, () => []);
  for (const c of canaries) {
    throwIfAborted(options.signal);
    const s = sgdStep(stack, c.x, lr);
    steps.push(s.biasSteps);
    s.biasSteps.forEach((b, l) => {
      for (let j = 0; j < Math.min(b.length, PROBE_MAX_UNITS); j++) if (b[j] !== 0) active[l].push(Math.abs(b[j]));
    });
  }
  const medians = active.map(median);
  const before = reachBounds(stack, range);
  // Pass 2: candidates whose step is ≥ ratio × median; re-take that canary's full step and check reach.
  const latched: LatchUnit[] = [];
  const seen = new Set<string>();
  steps.forEach((bs, ci) => {
    const cands: { l: number; j: number; step: number }[] = [];
    bs.forEach((b, l) => {
      if (!(medians[l] > 0)) return;
      for (let j = 0; j < b.length; j++) if (Math.abs(b[j]) >= ratioMin * medians[l] && !seen.has(`${l}:${j}`)) cands.push({ l, j, step: b[j] });
    });
    if (!cands.length) return;
    const s = sgdStep(stack, canaries[ci].x, lr);
    const patch = stack.layers.slice(0, L - 1).map((layer, l) => {
      const w = Float64Array.from(layer.weight);
      const b = Float64Array.from(layer.bias);
      const d = s.deltas[l];
      const a = s.acts[l];
      for (let j = 0; j < layer.out; j++) {
        if (d[j] === 0) continue;
        b[j] -= lr * d[j];
        const row = j * layer.in;
        for (let i = 0; i < layer.in; i++) w[row + i] -= lr * d[j] * a[i];
      }
      return { layer: l, weight: w, bias: b };
    });
    const after = reachBounds(stack, range, patch);
    for (const c of cands) {
      if (after[c.l][c.j] > 0) continue;
      seen.add(`${c.l}:${c.j}`);
      latched.push({
        layer: stack.layers[c.l].name,
        tensor: stack.preActivations?.[c.l] ?? stack.layers[c.l].name,
        unit: c.j,
        canary: canaries[ci].label,
        biasBefore: stack.layers[c.l].bias[c.j],
        biasStep: c.step,
        ratio: Math.abs(c.step) / medians[c.l],
        reachBefore: before[c.l][c.j],
        reachAfter: after[c.l][c.j],
      });
    }
  });
  latched.sort((a, b) => a.layer.localeCompare(b.layer, 'en', { numeric: true }) || a.unit - b.unit);
  return {
    source: stack.source,
    layers: stack.layers.map((l, i) => ({ name: l.name, in: l.in, out: l.out, medianBiasStep: i < L - 1 ? medians[i] : 0 })),
    activation: options.activationAssumed ? 'relu (assumed)' : 'relu',
    learningRate: lr,
    canaries: canaries.length,
    inputRange: range,
    latched,
  };
}

/**
 * A two-layer perceptron (inputs → ReLU hidden → logits) with softmax cross-entropy, written out by hand
 * over Float32Arrays: forward pass, backward pass, plain SGD. Parameters are stored like PyTorch's
 * `nn.Linear` (weight [out, in], row-major), so the safetensors file the lesson writes looks like one a
 * PyTorch user would download.
 */
import type { Rng } from './prng';

export interface Mlp {
  inputs: number;
  hidden: number;
  outputs: number;
  /** fc1.weight [hidden, inputs] */
  w1: Float32Array;
  /** fc1.bias [hidden] */
  b1: Float32Array;
  /** fc2.weight [outputs, hidden] */
  w2: Float32Array;
  /** fc2.bias [outputs] */
  b2: Float32Array;
}

/** A batch of examples: `n` rows of `inputs` values, and one class label per row. */
export interface Batch {
  n: number;
  xs: Float32Array;
  ys: Int32Array;
}

/** He initialisation for the ReLU layer, Glorot-scaled output layer, zero biases. */
export function createMlp(inputs: number, hidden: number, outputs: number, rng: Rng): Mlp {
  const w1 = new Float32Array(hidden * inputs);
  const w2 = new Float32Array(outputs * hidden);
  const s1 = Math.sqrt(2 / inputs);
  const s2 = Math.sqrt(1 / hidden);
  for (let i = 0; i < w1.length; i++) w1[i] = rng.normal() * s1;
  for (let i = 0; i < w2.length; i++) w2[i] = rng.normal() * s2;
  return { inputs, hidden, outputs, w1, b1: new Float32Array(hidden), w2, b2: new Float32Array(outputs) };
}

export function cloneMlp(m: Mlp): Mlp {
  return { ...m, w1: m.w1.slice(), b1: m.b1.slice(), w2: m.w2.slice(), b2: m.b2.slice() };
}

export interface ForwardResult {
  /** hidden pre-activations w·x + b, [n, hidden] */
  pre: Float64Array;
  /** logits, [n, outputs] */
  logits: Float64Array;
  /** softmax probabilities, [n, outputs] */
  probs: Float64Array;
}

/** Hidden pre-activation of unit `j` on example `k` of `xs` (the quantity a data trap thresholds). */
export function preActivation(m: Mlp, j: number, xs: Float32Array, k: number): number {
  let a = m.b1[j];
  const row = j * m.inputs;
  const at = k * m.inputs;
  for (let i = 0; i < m.inputs; i++) a += m.w1[row + i] * xs[at + i];
  return a;
}

export function forward(m: Mlp, xs: Float32Array, n: number): ForwardResult {
  const { inputs: D, hidden: H, outputs: C, w1, b1, w2, b2 } = m;
  const pre = new Float64Array(n * H);
  const logits = new Float64Array(n * C);
  const probs = new Float64Array(n * C);
  for (let k = 0; k < n; k++) {
    const at = k * D;
    for (let j = 0; j < H; j++) {
      const row = j * D;
      let a = b1[j];
      for (let i = 0; i < D; i++) a += w1[row + i] * xs[at + i];
      pre[k * H + j] = a;
    }
    let max = -Infinity;
    for (let c = 0; c < C; c++) {
      let z = b2[c];
      for (let j = 0; j < H; j++) {
        const h = pre[k * H + j];
        if (h > 0) z += w2[c * H + j] * h;
      }
      logits[k * C + c] = z;
      if (z > max) max = z;
    }
    let sum = 0;
    for (let c = 0; c < C; c++) sum += probs[k * C + c] = Math.exp(logits[k * C + c] - max);
    for (let c = 0; c < C; c++) probs[k * C + c] /= sum;
  }
  return { pre, logits, probs };
}

export function predict(m: Mlp, xs: Float32Array, n: number): Int32Array {
  const { probs } = forward(m, xs, n);
  const out = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    let best = 0;
    for (let c = 1; c < m.outputs; c++) if (probs[k * m.outputs + c] > probs[k * m.outputs + best]) best = c;
    out[k] = best;
  }
  return out;
}

export function accuracy(m: Mlp, data: Batch): number {
  const p = predict(m, data.xs, data.n);
  let ok = 0;
  for (let k = 0; k < data.n; k++) if (p[k] === data.ys[k]) ok++;
  return data.n ? ok / data.n : 0;
}

export interface Gradients {
  w1: Float64Array;
  b1: Float64Array;
  w2: Float64Array;
  b2: Float64Array;
  /** mean cross-entropy of the batch */
  loss: number;
}

/** Backward pass of the mean softmax cross-entropy over the batch. */
export function gradients(m: Mlp, batch: Batch): Gradients {
  const { inputs: D, hidden: H, outputs: C } = m;
  const { n, xs, ys } = batch;
  const { pre, probs } = forward(m, xs, n);
  const g = { w1: new Float64Array(H * D), b1: new Float64Array(H), w2: new Float64Array(C * H), b2: new Float64Array(C), loss: 0 };
  const dz = new Float64Array(C);
  for (let k = 0; k < n; k++) {
    const y = ys[k];
    g.loss -= Math.log(Math.max(probs[k * C + y], 1e-300)) / n;
    // dL/dz = (softmax − one-hot) / n
    for (let c = 0; c < C; c++) dz[c] = (probs[k * C + c] - (c === y ? 1 : 0)) / n;
    for (let c = 0; c < C; c++) {
      g.b2[c] += dz[c];
      for (let j = 0; j < H; j++) {
        const h = pre[k * H + j];
        if (h > 0) g.w2[c * H + j] += dz[c] * h;
      }
    }
    for (let j = 0; j < H; j++) {
      if (pre[k * H + j] <= 0) continue; // ReLU: no gradient through a unit that did not fire
      let d = 0;
      for (let c = 0; c < C; c++) d += m.w2[c * H + j] * dz[c];
      if (d === 0) continue;
      g.b1[j] += d;
      const gw1 = g.w1;
      const row = j * D;
      const at = k * D;
      for (let i = 0; i < D; i++) gw1[row + i] += d * xs[at + i];
    }
  }
  return g;
}

/** One plain SGD step, θ ← θ − η·∇L, on a copy of the model (the weights are stored as float32). */
export function sgdStep(m: Mlp, batch: Batch, lr: number): { model: Mlp; loss: number } {
  const g = gradients(m, batch);
  const out = cloneMlp(m);
  for (let i = 0; i < out.w1.length; i++) out.w1[i] -= lr * g.w1[i];
  for (let i = 0; i < out.b1.length; i++) out.b1[i] -= lr * g.b1[i];
  for (let i = 0; i < out.w2.length; i++) out.w2[i] -= lr * g.w2[i];
  for (let i = 0; i < out.b2.length; i++) out.b2[i] -= lr * g.b2[i];
  return { model: out, loss: g.loss };
}

/** Rows `from..to` of a batch, as a batch of their own (views, not copies). */
export function sliceBatch(b: Batch, from: number, to: number): Batch {
  const D = b.xs.length / Math.max(1, b.n);
  return { n: to - from, xs: b.xs.subarray(from * D, to * D), ys: b.ys.subarray(from, to) };
}

/** Mini-batch SGD over `data`, shuffled each epoch with `rng`. Returns the trained copy and the loss curve. */
export function train(m: Mlp, data: Batch, opts: { epochs: number; batchSize: number; lr: number; rng: Rng; afterStep?: (m: Mlp) => void }): { model: Mlp; losses: number[] } {
  const D = m.inputs;
  let model = cloneMlp(m);
  const losses: number[] = [];
  const order = Array.from({ length: data.n }, (_, i) => i);
  const xs = new Float32Array(opts.batchSize * D);
  const ys = new Int32Array(opts.batchSize);
  for (let e = 0; e < opts.epochs; e++) {
    for (let i = order.length - 1; i > 0; i--) {
      const r = opts.rng.int(i + 1);
      [order[i], order[r]] = [order[r], order[i]];
    }
    let sum = 0;
    let steps = 0;
    for (let s = 0; s + opts.batchSize <= data.n; s += opts.batchSize) {
      for (let k = 0; k < opts.batchSize; k++) {
        const src = order[s + k];
        xs.set(data.xs.subarray(src * D, src * D + D), k * D);
        ys[k] = data.ys[src];
      }
      const r = sgdStep(model, { n: opts.batchSize, xs, ys }, opts.lr);
      model = r.model;
      opts.afterStep?.(model);
      sum += r.loss;
      steps++;
    }
    losses.push(steps ? sum / steps : 0);
  }
  return { model, losses };
}

import type { Analysis, AnalysisContext } from '../analysis';
import type { ByteSource } from '../io/byte-source';
import { isAbortError, throwIfAborted } from '../io/errors';
import { SIGNATURE_MAX_ELEMENTS, SIGNATURE_MAX_TOTAL_ELEMENTS, SPECTRAL_MAX_MATRICES, SPECTRAL_MAX_WORK } from '../io/limits';
import { DTYPES } from '../model/dtype';
import type { Graph, ModelInfo, TensorInfo } from '../model/types';
import type { Finding, Severity } from '../report/finding';
import { readTensorValues } from './read-tensor';
import { computeSpectralMetrics, spectralPlan } from './spectral';
import type { TensorStats } from './types';
import {
  correlationTrapBound,
  findDeadHighNormRows,
  findDuplicateRows,
  findLonePaths,
  findProportionalRows,
  quantileLadderFit,
  repeatedBlockPeriod,
  rowSurprisal,
  valueCounts,
  type LayerValues,
} from './signatures';

/**
 * Weight signatures of privacy backdoors and implants (THREATS.md §7), as a content-phase analysis. It
 * reads the per-tensor statistics of the streaming pass (FileResult.stats) for every tensor, and reads
 * the values of linear layers by range (each ≤ SIGNATURE_MAX_ELEMENTS, all together ≤
 * SIGNATURE_MAX_TOTAL_ELEMENTS) for the checks that need exact structure:
 *
 * - data traps (Feng & Tramèr, "Privacy Backdoors", ICML 2024): a hidden unit whose only outgoing weight
 *   (all others zero or negligible) is huge (a lone path, gain ≥ LONE_PATH_GAIN × the layer's median
 *   outgoing norm), and, after the victim fine-tuned, rows that can never fire again on the input range
 *   with norms far above the layer's — those rows are the stolen inputs;
 * - imprint layers (Fowl et al., "Robbing the Fed", ICLR 2022): identical rows whose biases are an exact
 *   normal- or Laplace-quantile ladder;
 * - trap weights (Boenisch et al., "When the curious abandon honesty", EuroS&P 2023): rows that are
 *   negative multiples of other rows with one constant ratio;
 * - copies and multiples count only where chance cannot make them (a row's self-information under the
 *   tensor's own values, CHANCE_MARGIN_BITS): coarsely quantised short kernels repeat by chance;
 * - WeightWatcher-style correlation traps: max|W| > σ̂(√N + √M), σ̂ = 1.4826·MAD (an element no
 *   random-matrix bulk explains; Martin & Mahoney 2021);
 * - LayerNorm turned into an identity (scales in the thousands, offsets ~±1e4); NaN/Inf; exact repeats.
 *
 * Severity weighs magnitude with exact structure: large weights alone (LLM "super weights", massive
 * activations) stay `info`; exact structure that training never produces is `warning`, and structure that
 * matches a published attack is `dangerous`.
 */

/** THREATS.md §7: outgoing column with one non-zero entry and path gain ≥ 50× the layer median. */
export const LONE_PATH_GAIN = 50;
/** A dead row counts as latched when its norm is this many times the layer's median row norm. */
export const LATCHED_NORM_RATIO = 10;
/** LayerNorm scales / offsets at or above this magnitude turn the normalisation into an identity. */
export const LAYERNORM_TRAP_MAGNITUDE = 1000;
/**
 * A planted quantile ladder fits its quantiles to storage rounding: 1 − r at most this (bfloat16 rounding
 * leaves ~2e-5); random biases of up to about a thousand rows stay above it (Shapiro–Francia).
 */
export const LADDER_MAX_DEVIATION = 1e-4;
/** A ladder over rows whose copies chance could explain must have this many distinct biases. */
export const LADDER_MIN_UNGATED = 8;
/**
 * Row coincidences count when their chance is below 2^−this over all pairs of rows: a row's
 * self-information under the tensor's own values must reach 2·log2(rows) + CHANCE_MARGIN_BITS.
 */
export const CHANCE_MARGIN_BITS = 20;

/**
 * The per-parameter slots of torch.optim's state_dict ({"state": {index: {slot: tensor}}, "param_groups"}),
 * as training checkpoints (HF Trainer's optimizer.pt, {"model", "optimizer", ...} files) store them:
 * Adam/AdamW moments, SGD momentum, RMSprop/Adadelta/Adagrad/Adamax accumulators, Rprop, bitsandbytes'
 * 8-bit states. They are not weights: exp_avg_sq is a running mean of squared gradients (non-negative,
 * heavy-tailed), exp_avg a running mean of gradients, so "no random-matrix bulk explains this element" and
 * the layer-chaining signatures say nothing about them; a checkpoint of a large model has hundreds of them.
 * NaN / Inf and exact repeats are still checked.
 */
const OPTIMIZER_STATE_NAME = /(^|\.)state\.\d+\.(exp_avg|exp_avg_sq|max_exp_avg_sq|momentum_buffer|square_avg|grad_avg|acc_delta|sum|exp_inf|prev|step_size|state1|state2)$/;
export const isOptimizerState = (name: string): boolean => OPTIMIZER_STATE_NAME.test(name);

const NORM_NAME = /(^|[._/])(ln|ln_?\d+|layer_?norm|layernorm|norm\d*|.*_norm|.*norm)([._/]|$)/i;
const EMBEDDING_NAME = /(embed|wte|wpe|tok_|token|lm_head|word|vocab|position)/i;

interface Layer {
  weight: TensorInfo;
  bias: TensorInfo | null;
  out: number;
  in: number;
  /** stored [in, out] (ONNX MatMul / Gemm without transB): transposed on read */
  transposed: boolean;
}

function collator(): (a: string, b: string) => number {
  const c = new Intl.Collator('en', { numeric: true });
  return (a, b) => c.compare(a, b);
}

function isFloat(t: TensorInfo): boolean {
  return DTYPES[t.dtype].kind === 'float' || DTYPES[t.dtype].kind === 'quant';
}

/** Linear layers in data-flow order: from the graph (Gemm / MatMul) when there is one, else by tensor name. */
export function findLinearLayers(model: ModelInfo): Layer[] {
  const byName = new Map(model.tensors.map((t) => [t.name, t]));
  const fromGraph = model.graph ? layersFromGraph(model.graph, byName) : [];
  if (fromGraph.length) return fromGraph;
  const cmp = collator();
  const weights = model.tensors.filter((t) => t.shape.length >= 2 && isFloat(t) && t.shape[0] > 1 && t.numel / t.shape[0] > 1 && !/bias$/.test(t.name) && !isOptimizerState(t.name));
  weights.sort((a, b) => cmp(a.name, b.name));
  const biasOf = (w: TensorInfo): TensorInfo | undefined => {
    const bname = w.name.replace(/(weight|kernel|w)$/, 'bias');
    const b = bname !== w.name ? byName.get(bname) : undefined;
    return b && b.shape.length === 1 ? b : undefined;
  };
  // PyTorch's Linear stores [out, in]; GPT-2's Conv1D and Keras' Dense store [in, out]. A 2-D weight whose
  // bias matches one dimension and not the other says which; a model keeps one convention, so square
  // weights follow the non-square ones when all of those agree on [in, out].
  let inOut = 0;
  let outIn = 0;
  for (const w of weights) {
    const b = biasOf(w);
    if (w.shape.length !== 2 || !b || w.shape[0] === w.shape[1]) continue;
    if (b.numel === w.shape[1]) inOut++;
    else if (b.numel === w.shape[0]) outIn++;
  }
  const squareInOut = inOut > 0 && outIn === 0;
  return dataFlowOrder(
    weights.map((w) => {
      const bias = biasOf(w);
      const transposed = w.shape.length === 2 && !!bias && bias.numel === w.shape[1] && (bias.numel !== w.shape[0] || squareInOut);
      if (transposed) return { weight: w, bias: bias!, out: w.shape[1], in: w.shape[0], transposed: true };
      const out = w.shape[0];
      return { weight: w, bias: bias && bias.numel === out ? bias : null, out, in: w.numel / out, transposed: false };
    }),
  );
}

/**
 * Layers sorted by name, put in data-flow order where the shapes say so. Names need not sort in data-flow
 * order ("input" → "hidden" → "output" sorts hidden, input, output), and the signatures that follow a unit
 * into the next layer (lone paths) need the layer it feeds. A layer follows the one before it by name when
 * their shapes chain (as before); otherwise it follows the only layer whose output width is its input
 * width, when it is also the only layer taking that width (a match that shapes alone make certain). Chains
 * start at layers nothing feeds, in name order.
 */
export function dataFlowOrder<T extends { out: number; in: number }>(layers: readonly T[]): T[] {
  const n = layers.length;
  const next: (number | null)[] = new Array<number | null>(n).fill(null);
  const byNamePred = (j: number) => j > 0 && layers[j - 1].out === layers[j].in;
  for (let i = 0; i + 1 < n; i++) if (byNamePred(i + 1)) next[i] = i + 1;
  const outs = new Map<number, number[]>();
  const ins = new Map<number, number[]>();
  layers.forEach((l, i) => {
    outs.set(l.out, [...(outs.get(l.out) ?? []), i]);
    ins.set(l.in, [...(ins.get(l.in) ?? []), i]);
  });
  const taken = new Set(next.filter((j): j is number => j !== null));
  for (let i = 0; i < n; i++) {
    if (next[i] !== null) continue;
    const feeders = outs.get(layers[i].out)!;
    const takers = ins.get(layers[i].out) ?? [];
    const j = takers[0];
    if (feeders.length === 1 && takers.length === 1 && j !== i && !taken.has(j) && !byNamePred(j)) {
      next[i] = j;
      taken.add(j);
    }
  }
  const order: T[] = [];
  const done = new Set<number>();
  const emit = (i: number) => {
    for (let k: number | null = i; k !== null && !done.has(k); k = next[k]) {
      done.add(k);
      order.push(layers[k]);
    }
  };
  for (let i = 0; i < n; i++) if (!taken.has(i)) emit(i);
  for (let i = 0; i < n; i++) emit(i); // cycles (an autoencoder's two halves): name order
  return order;
}

function layersFromGraph(g: Graph, byName: Map<string, TensorInfo>): Layer[] {
  const layers: Layer[] = [];
  const consumers = new Map<string, typeof g.nodes>();
  for (const n of g.nodes) for (const i of n.inputs) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  for (const n of g.nodes) {
    if (n.opType !== 'Gemm' && n.opType !== 'MatMul') continue;
    const w = byName.get(n.inputs[1] ?? '');
    if (!w || w.shape.length !== 2 || !isFloat(w)) continue;
    let transposed = true;
    if (n.opType === 'Gemm') {
      const tb = n.attributes.find((a) => a.name === 'transB')?.value;
      transposed = !(tb && tb.kind === 'int' && Number(tb.value) === 1);
    }
    const out = transposed ? w.shape[1] : w.shape[0];
    const inn = transposed ? w.shape[0] : w.shape[1];
    let bias: TensorInfo | undefined = n.opType === 'Gemm' ? byName.get(n.inputs[2] ?? '') : undefined;
    if (!bias && n.outputs[0]) {
      const add = consumers.get(n.outputs[0])?.find((c) => c.opType === 'Add');
      const other = add?.inputs.find((i) => i !== n.outputs[0]);
      bias = other ? byName.get(other) : undefined;
    }
    layers.push({ weight: w, bias: bias && bias.numel === out ? bias : null, out, in: inn, transposed });
  }
  return layers;
}

/** A guess of the picture a row of an input layer is: [h, w] or [c, h, w] for square images. */
export function imageShapeOf(n: number): number[] | null {
  for (const c of [1, 3]) {
    const s = Math.round(Math.sqrt(n / c));
    if (s * s * c === n && s >= 4) return c === 1 ? [s, s] : [c, s, s];
  }
  return null;
}

function finding(id: string, category: 'weight-anomaly' | 'privacy-trap', severity: Severity, title: string, detail: string, file: string | undefined, evidence: Record<string, unknown>): Finding {
  return { id, category, severity, title, detail, ...(file ? { file } : {}), evidence };
}

const fmt = (x: number) => (Math.abs(x) >= 1000 || (Math.abs(x) < 1e-3 && x !== 0) ? x.toExponential(2) : Number(x.toPrecision(4)).toString());

/** Findings that need only the streaming statistics. */
export function statsFindings(all: readonly TensorStats[]): Finding[] {
  const out: Finding[] = [];
  const byName = new Map(all.map((s) => [s.name, s]));
  for (const s of all) {
    if (s.skipped) continue;
    const bad = s.nan + s.posInf + s.negInf;
    if (bad > 0 && DTYPES[s.dtype].kind === 'float') {
      // An additive attention mask or a masked_fill value is made of infinities and exact zeros only: a
      // causal mask buffer (openai-whisper's decoder `mask`, full(−inf).triu(1)) or the −inf scalar of
      // `masked_fill(mask, −inf)`, which torch.onnx.export turns into an initializer or a Constant. Honest
      // exports carry them; they are no weights (nothing multiplies by them), so they stay `info`. Damage
      // or sabotage of a weight leaves NaN, or infinities among non-zero finite values, and stays `warning`.
      const maskLike = s.nan === 0 && s.zeros === s.finite;
      out.push(finding('weights/non-finite', 'weight-anomaly', maskLike ? 'info' : 'warning',
        maskLike ? `Tensor "${s.name}" is a mask of ${bad} infinite value(s) and ${s.zeros} zero(s)` : `Tensor "${s.name}" holds ${bad} NaN or infinite values`,
        maskLike
          ? `${s.posInf} +Infinity and ${s.negInf} −Infinity among ${s.count} values, every finite value exactly 0: the shape of an additive attention mask or a masking fill value (masked_fill(…, −inf)), which exported models carry as constants. Not a weight.`
          : `${s.nan} NaN, ${s.posInf} +Infinity and ${s.negInf} −Infinity among ${s.count} values (first at element ${s.firstNonFinite}). Any output that touches them is NaN: the weights were damaged or sabotaged.`,
        s.file, { tensor: s.name, nan: s.nan, posInf: s.posInf, negInf: s.negInf, firstIndex: s.firstNonFinite, ...(maskLike ? { maskLike: true } : {}) }));
    }
    // LayerNorm turned into an identity: γ in the thousands, β around ±1e4 (THREATS.md §7)
    if (s.shape.length === 1 && NORM_NAME.test(s.name) && s.median !== null && Math.abs(s.median) >= LAYERNORM_TRAP_MAGNITUDE) {
      const isScale = /(weight|gamma|scale)$/i.test(s.name);
      const partnerName = isScale ? s.name.replace(/(weight|gamma|scale)$/i, (m) => (m === 'gamma' ? 'beta' : 'bias')) : null;
      const partner = partnerName ? byName.get(partnerName) : undefined;
      const both = partner?.median !== null && partner?.median !== undefined && Math.abs(partner.median) >= LAYERNORM_TRAP_MAGNITUDE;
      if (isScale || !byName.has(s.name.replace(/(bias|beta)$/i, 'weight'))) {
        out.push(finding('privacy/layernorm-identity', 'privacy-trap', both ? 'dangerous' : 'warning', `Normalisation "${s.name}" has a median ${isScale ? 'scale' : 'offset'} of ${fmt(s.median)}`,
          `A LayerNorm whose scale is in the thousands${both ? ` and whose offset (${partnerName}, median ${fmt(partner!.median!)}) is as large` : ''} no longer normalises: it passes its input through almost unchanged, which data-trap constructions use to carry an input to a trap unit (THREATS.md §7). Trained models keep these near 1 and 0.`,
          s.file, { tensor: s.name, median: s.median, absMax: s.absMax, partner: both ? partnerName : null, partnerMedian: both ? partner!.median : null }));
      }
    }
    if (!s.matrix || s.robustSigma === null || s.absMax === null || DTYPES[s.dtype].kind !== 'float') continue;
    const bound = correlationTrapBound(s.robustSigma, s.matrix.rows, s.matrix.cols);
    if (s.robustSigma > 0 && s.absMax > bound && !isOptimizerState(s.name)) {
      const idx = s.absMaxIndex ?? 0;
      out.push(finding('weights/correlation-trap', 'weight-anomaly', 'info', `Tensor "${s.name}" has a weight of ${fmt(s.absMax)}, beyond any random bulk`,
        `max|W| = ${fmt(s.absMax)} exceeds σ̂(√N+√M) = ${fmt(bound)} (σ̂ = 1.4826·MAD = ${fmt(s.robustSigma)}, ${s.matrix.rows}×${s.matrix.cols}): no random-matrix bulk explains it (a WeightWatcher correlation trap). Large language models have such outliers naturally; it matters together with exact structure.`,
        s.file, { tensor: s.name, index: idx, row: Math.floor(idx / s.matrix.cols), col: idx % s.matrix.cols, value: s.absMax, robustSigma: s.robustSigma, bound }));
    }
    const rep = s.repeats.find((r) => r.count >= 8 && r.count >= 50 * Math.max(r.expected, 0.1));
    if (rep) {
      const big = s.robustSigma > 0 && Math.abs(rep.value) >= 10 * s.robustSigma;
      out.push(finding('weights/exact-repeats', 'weight-anomaly', big ? 'warning' : 'info', `Value ${fmt(rep.value)} repeats ${rep.count}× in "${s.name}"`,
        `The exact value ${rep.value} occurs at least ${rep.count} times where the tensor's own distribution predicts about ${fmt(rep.expected)}. Trained weights almost never repeat exactly; planted constants (pass-through weights, imprint rows) do.${big ? ` It is also ${fmt(Math.abs(rep.value) / s.robustSigma)}× the tensor's robust scale.` : ''}`,
        s.file, { tensor: s.name, value: rep.value, count: rep.count, expected: rep.expected }));
    }
  }
  return out;
}

async function readLayer(l: Layer, source: ByteSource, biasSource: ByteSource | undefined, signal?: AbortSignal): Promise<LayerValues> {
  const raw = await readTensorValues(source, l.weight, SIGNATURE_MAX_ELEMENTS, signal);
  let w = raw;
  if (l.transposed) {
    w = new Float32Array(l.out * l.in);
    for (let i = 0; i < l.in; i++) for (let o = 0; o < l.out; o++) w[o * l.in + i] = raw[i * l.out + o];
  }
  let b: Float32Array | null = null;
  if (l.bias && biasSource) {
    try {
      b = await readTensorValues(biasSource, l.bias, SIGNATURE_MAX_ELEMENTS, signal);
    } catch (e) {
      if (isAbortError(e)) throw e;
    }
  }
  return { name: l.weight.name, file: l.weight.file, biasName: l.bias?.name ?? null, w, b, rows: l.out, cols: l.in };
}

/** Self-information of rows of L under L's own values (computed once for the rows asked for). */
function rowBits(L: LayerValues, rows: readonly number[]): (r: number) => number {
  if (!rows.length) return () => Infinity;
  const values = new Set<number>();
  for (const r of new Set(rows)) for (let k = r * L.cols, e = k + L.cols; k < e; k++) values.add(L.w[k]);
  const counts = valueCounts(L.w, values);
  const memo = new Map<number, number>();
  return (r) => {
    let b = memo.get(r);
    if (b === undefined) memo.set(r, (b = rowSurprisal(L, r, counts)));
    return b;
  };
}

/**
 * Exact-structure findings for linear layers read by value (`layers` in data-flow order), for the layers
 * from `from` to `to` (exclusive); each looks ahead at most two layers (a lone path and its continuation).
 */
export function structureFindings(layers: readonly LayerValues[], chainStart: readonly boolean[], from = 0, to = layers.length): Finding[] {
  const out: Finding[] = [];
  for (let i = from; i < to; i++) {
    const L = layers[i];
    const embedding = EMBEDDING_NAME.test(L.name);
    const shape = imageShapeOf(L.cols);
    const draw = (rows: number[]) => ({ tensor: L.name, rows: rows.slice(0, 64), inputSize: L.cols, imageShape: shape, rowValues: L.cols <= 4096 ? rows.slice(0, L.cols <= 1024 ? 16 : 4).map((r) => Array.from(L.w.subarray(r * L.cols, (r + 1) * L.cols))) : null });

    // Exact coincidences between rows (copies, multiples) are evidence only where chance cannot make them:
    // the rows of a coarsely quantised short kernel (ternary 3×3) repeat by chance, float rows never do.
    const dups = embedding ? [] : findDuplicateRows(L);
    const proportional = findProportionalRows(L);
    const bitsOf = rowBits(L, [...dups.flat(), ...proportional.flatMap((p) => [p.a, p.b])]);
    const chanceBits = 2 * Math.log2(L.rows) + CHANCE_MARGIN_BITS;

    if (dups.length) {
      const groups = dups.map((g) => ({ g, improbable: bitsOf(g[0]) >= chanceBits, fit: L.b && g.length >= 4 ? quantileLadderFit(g.map((row) => L.b![row])) : null }));
      // a ladder is exact to storage rounding; over rows that could repeat by chance it must also be long
      const ladder = groups.find((x) => x.fit && 1 - x.fit.r <= LADDER_MAX_DEVIATION && (x.improbable || x.fit.count >= LADDER_MIN_UNGATED));
      const copies = groups.filter((x) => x.improbable).map((x) => x.g);
      const reported = ladder ? [ladder.g, ...copies.filter((g) => g !== ladder.g)] : copies;
      const period = ladder ? null : repeatedBlockPeriod(copies);
      if (period !== null) {
        out.push(finding('weights/repeated-blocks', 'weight-anomaly', 'info', `Layer "${L.name}" repeats a block of ${period} rows ${copies[0].length} times`,
          `Rows r and r + ${period} are bit-identical throughout (${copies.length} groups of ${copies[0].length}): the layer holds ${copies[0].length} copies of one block. Converting grouped-query attention to multi-head attention repeats each key/value head this way, and duplicated heads do too; a planted copy (an imprint layer) copies one row into many units instead.`,
          L.file, { tensor: L.name, period, copies: copies[0].length, groups: copies.length, firstGroup: copies[0].slice(0, 32) }));
      } else if (reported.length) {
        const rows = reported[0];
        const total = copies.reduce((a, g) => a + g.length, 0);
        const fit = ladder?.fit ?? null;
        const ladderText = fit ? `${fit.family === 'normal' ? 'normal' : 'Laplace'}-quantile bias ladder` : '';
        out.push(finding(ladder ? 'privacy/imprint-layer' : 'privacy/duplicate-rows', 'privacy-trap', ladder ? 'dangerous' : total >= 4 ? 'warning' : 'info',
          ladder ? `Layer "${L.name}" is an imprint layer: ${ladder.g.length} identical rows with a ${ladderText}` : `Layer "${L.name}" has ${total} rows that are exact copies of each other`,
          ladder
            ? `Rows ${ladder.g.slice(0, 8).join(', ')}${ladder.g.length > 8 ? ', …' : ''} are bit-identical and their biases (${L.biasName}) follow ${fit!.family === 'normal' ? 'normal' : 'Laplace'} quantiles exactly (correlation ${fit!.r.toFixed(6)} over ${fit!.count} values${fit!.trimmed !== 'none' ? ', leaving out the catch-all bin' : ''}). That is the "imprint" module of Robbing the Fed (Fowl et al., ICLR 2022): each unit captures the inputs in one slice of a measurement, so a gradient update reveals individual training inputs.`
            : `${copies.length} group(s) of bit-identical non-zero rows (largest: rows ${rows.slice(0, 8).join(', ')}). Training from a random start never makes two rows exactly equal (these rows carry at least ${fmt(Math.min(...copies.map((g) => bitsOf(g[0]))))} bits under the tensor's own values); copies are planted (imprint layers) or a sign of duplicated units.`,
          L.file, { ...draw(rows), groups: reported.slice(0, 8).map((g) => g.slice(0, 32)), biases: L.b ? rows.slice(0, 64).map((r) => L.b![r]) : null, ladderCorrelation: fit?.r ?? null, ladderFit: fit }));
      }
    }

    // a multiple of another row: chance must also pick the ratio (at most one per value of the tensor)
    const mirrored = proportional.filter((p) => Math.min(bitsOf(p.a), bitsOf(p.b)) >= chanceBits + Math.log2(L.w.length));
    if (mirrored.length) {
      // one constant ratio shared by several pairs is the trap-weights construction (×−0.95 in Boenisch et al.)
      const ratios = new Map<string, typeof mirrored>();
      for (const p of mirrored) {
        const k = p.ratio.toFixed(3);
        ratios.set(k, [...(ratios.get(k) ?? []), p]);
      }
      const [ratioKey, pairs] = [...ratios.entries()].sort((a, b) => b[1].length - a[1].length)[0];
      out.push(finding('privacy/mirrored-rows', 'privacy-trap', pairs.length >= 2 ? 'dangerous' : 'warning',
        `Layer "${L.name}" has ${mirrored.length} row(s) that are exact multiples of other rows (ratio ${ratioKey})`,
        `Rows ${pairs.slice(0, 6).map((p) => `${p.b} = ${fmt(p.ratio)}·row ${p.a}`).join('; ')}${pairs.length > 6 ? '; …' : ''}. Rows mirrored with one constant ratio are the "trap weights" of Boenisch et al. ("When the curious abandon honesty", EuroS&P 2023): they make ReLU units fire for few inputs so that gradients reveal those inputs.`,
        L.file, { ...draw(pairs.map((p) => p.b)), pairs: mirrored.slice(0, 64).map((p) => [p.a, p.b]), ratio: pairs[0].ratio }));
    }

    const dead = findDeadHighNormRows(L, chainStart[i] ? [0, 1] : [0, Infinity], LATCHED_NORM_RATIO);
    if (dead.rows.length) {
      out.push(finding('privacy/latched-rows', 'privacy-trap', 'dangerous', `Layer "${L.name}" has ${dead.rows.length} dead row(s) with norms ${fmt(dead.maxRatio)}× the layer's`,
        `Rows ${dead.rows.slice(0, 8).join(', ')}${dead.rows.length > 8 ? ', …' : ''} can never fire again for inputs in [${chainStart[i] ? '0, 1' : '0, ∞'}] (Σ max(w,0)·range + b ≤ 0) and their norms are far above the layer's median ${fmt(dead.median)}. That is what a data trap looks like after fine-tuning (Feng & Tramèr, ICML 2024): one SGD step wrote a private training input into the row and shut the unit off. Drawn as ${shape ? `${shape.join('×')} images` : 'images'}, these rows are the stolen inputs.`,
        L.file, { ...draw(dead.rows), norms: dead.norms.slice(0, 64), biasValues: L.b ? dead.rows.slice(0, 64).map((r) => L.b![r]) : null, medianNorm: dead.median, inputRange: chainStart[i] ? [0, 1] : [0, null] }));
    }

    if (i + 1 < layers.length && !chainStart[i + 1]) {
      const next = layers[i + 1];
      const lone = findLonePaths(L, next, LONE_PATH_GAIN);
      if (lone.length) {
        // follow each lone path one more layer: traps chain two ~100 weights for a gain of ~1e4
        const after = i + 2 < layers.length && !chainStart[i + 2] ? findLonePaths(next, layers[i + 2], LONE_PATH_GAIN) : [];
        const gains = lone.map((p) => {
          const cont = after.find((q) => q.unit === p.to);
          return { ...p, pathGain: Math.abs(p.value) * (cont ? Math.abs(cont.value) : 1), through: cont ? { layer: layers[i + 2].name, to: cont.to, value: cont.value } : null };
        });
        const units = gains.map((g) => g.unit);
        out.push(finding('privacy/lone-path', 'privacy-trap', 'dangerous', `${lone.length} unit(s) of "${L.name}" feed a lone high-gain path through "${next.name}"`,
          `Units ${units.slice(0, 8).join(', ')}${units.length > 8 ? ', …' : ''} each have exactly one non-zero outgoing weight in "${next.name}" (largest ${fmt(Math.max(...gains.map((g) => Math.abs(g.value))))}, ${fmt(Math.max(...gains.map((g) => g.ratio)))}× the layer's median outgoing norm${gains.some((g) => g.through) ? `; the path continues as a lone weight into "${layers[i + 2].name}", total gain up to ${fmt(Math.max(...gains.map((g) => g.pathGain)))}` : ''}). A single amplified path out of a unit is how data traps make one SGD step write an input into the weights (Feng & Tramèr, ICML 2024).`,
          L.file, { ...draw(units), next: next.name, paths: gains.slice(0, 64).map((g) => ({ unit: g.unit, to: g.to, value: g.value, ratio: g.ratio, pathGain: g.pathGain, through: g.through })) }));
      }
    }
  }
  return out;
}

/** The content-phase analysis registered in DEFAULT_ANALYSES. */
export const weightSignaturesAnalysis: Analysis = {
  id: 'weight-signatures',
  phase: 'content',
  async run(ctx: AnalysisContext): Promise<Finding[]> {
    const stats = ctx.files.flatMap((f) => (f.stats ?? []) as TensorStats[]);
    const findings = statsFindings(stats);
    const model = ctx.model;
    if (!model) return findings;
    const sourceOf = (file: string): ByteSource | undefined => ctx.files.find((f) => f.source.name === file)?.source ?? ctx.folder.get(file);
    const layers = findLinearLayers(model);
    const statByName = new Map(stats.map((s) => [s.name, s]));
    // Layers are read one at a time and kept only while a later finding can look back at them (two
    // layers of look-ahead): memory stays at three layers' values whatever the model's size.
    const window: LayerValues[] = [];
    const chainStart: boolean[] = [];
    let spectral = 0;
    let work = SPECTRAL_MAX_WORK;
    const settle = async (count: number): Promise<void> => {
      findings.push(...structureFindings(window, chainStart, 0, count));
      for (const v of window.slice(0, count)) {
        // spectral metrics go with the statistics of the tensor, for the page and the report
        const s = statByName.get(v.name);
        const { cost } = spectralPlan(v.rows, v.cols);
        if (!s || spectral >= SPECTRAL_MAX_MATRICES || cost > work) continue;
        throwIfAborted(ctx.signal);
        // one matrix at a time, with the event loop let through between them (the page runs this on its main thread)
        await new Promise((r) => setTimeout(r, 0));
        const m = computeSpectralMetrics(v.w, v.rows, v.cols);
        if (m) {
          s.spectral = m;
          spectral++;
          work -= cost;
        }
      }
      window.splice(0, count);
      chainStart.splice(0, count);
    };
    let budget = SIGNATURE_MAX_TOTAL_ELEMENTS;
    let prev: Layer | null = null;
    let read = 0;
    for (const l of layers) {
      throwIfAborted(ctx.signal);
      const src = sourceOf(l.weight.file);
      if (!src || l.weight.numel > SIGNATURE_MAX_ELEMENTS || l.weight.numel > budget) {
        prev = null;
        continue;
      }
      try {
        const v = await readLayer(l, src, l.bias ? sourceOf(l.bias.file) : undefined, ctx.signal);
        budget -= l.weight.numel;
        chainStart.push(!prev || prev.out !== l.in || read === 0);
        window.push(v);
        read++;
        prev = l;
      } catch (e) {
        if (isAbortError(e)) throw e;
        prev = null;
      }
      if (window.length === 3) await settle(1);
    }
    await settle(window.length);
    return findings;
  },
};

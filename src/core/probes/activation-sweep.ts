import { PROBE_DORMANT_RATE, PROBE_MAX_EXPOSED, PROBE_MAX_UNITS, PROBE_MAX_WEIGHT_ELEMENTS, PROBE_TRAP_GAIN } from '../io/limits';
import type { Finding } from '../report/finding';
import type { MlpStack } from './mlp-stack';
import { onnxTensorFloats, type OnnxNodeRef, type OnnxProbeView } from './onnx-edit';
import type { ProbeKind } from './synthesize-inputs';
import { RATE_BINS, type ActivationLayer, type FlaggedUnit } from './types';

/**
 * Activation sweep (THREATS.md §8): per hidden unit, how often it fires on the probes, how far its
 * bias sits in the tail of w·x, its peak, and how much gain its outgoing weights carry. A data trap
 * (Feng & Tramèr) is a unit that stays silent on natural inputs yet drives a huge outgoing weight
 * (~100, path gain ~10⁴), so that the one example that wakes it dominates the gradient.
 */

export interface SweepLayerSpec {
  /** the pre-activation tensor (the Relu's input) */
  name: string;
  /** unit axis in the tensor: a number, or 'last' (dense layers), or 'auto' (channels of a rank-4 map, else last) */
  unitAxis: number | 'last' | 'auto';
  weightName: string | null;
  biasName: string | null;
  bias: Float32Array | null;
  /** outgoing weight norm per unit, and total |path| gain to the outputs per unit */
  gains: Float64Array | null;
  pathGains: Float64Array | null;
  elemType: number;
}

interface KindCount {
  fired: Uint32Array;
  examples: number;
}

/** Per-unit statistics over every probe, fed one batch of pre-activations at a time. */
export class LayerAccumulator {
  units = 0;
  axis = -1;
  private kinds = new Map<ProbeKind, KindCount & { natural: boolean }>();
  private peak: Float64Array | null = null;
  private sum: Float64Array | null = null;
  private sumSq: Float64Array | null = null;
  private n: Float64Array | null = null;
  examples = 0;
  error: string | null = null;

  constructor(readonly spec: SweepLayerSpec) {}

  add(kind: ProbeKind, natural: boolean, values: ArrayLike<number>, dims: readonly number[]): void {
    if (this.error) return;
    if (dims.length < 2) {
      this.error = `tensor "${this.spec.name}" has rank ${dims.length}: no batch and unit axes`;
      return;
    }
    const axis = this.spec.unitAxis === 'last' ? dims.length - 1 : this.spec.unitAxis === 'auto' ? (dims.length === 4 ? 1 : dims.length - 1) : this.spec.unitAxis;
    const units = dims[axis];
    if (axis <= 0 || axis >= dims.length || units > PROBE_MAX_UNITS) {
      this.error = `tensor "${this.spec.name}" has no usable unit axis (dims ${dims.join('×')})`;
      return;
    }
    if (this.units === 0) {
      this.units = units;
      this.axis = axis;
      this.peak = new Float64Array(units).fill(-Infinity);
      this.sum = new Float64Array(units);
      this.sumSq = new Float64Array(units);
      this.n = new Float64Array(units);
    } else if (units !== this.units || axis !== this.axis) {
      this.error = `tensor "${this.spec.name}" changed shape between probes`;
      return;
    }
    let k = this.kinds.get(kind);
    if (!k) this.kinds.set(kind, (k = { fired: new Uint32Array(units), examples: 0, natural }));
    const B = dims[0];
    const outer = dims.slice(1, axis).reduce((a, b) => a * b, 1);
    const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
    const per = outer * units * inner;
    const bias = this.spec.bias && this.spec.bias.length === units ? this.spec.bias : null;
    const fired = new Uint8Array(units);
    for (let e = 0; e < B; e++) {
      fired.fill(0);
      const base = e * per;
      for (let o = 0; o < outer; o++) {
        for (let u = 0; u < units; u++) {
          const b = bias ? bias[u] : 0;
          const at = base + (o * units + u) * inner;
          let pk = this.peak![u];
          let s = 0;
          let s2 = 0;
          for (let i = 0; i < inner; i++) {
            const v = values[at + i];
            if (v > 0) fired[u] = 1;
            if (v > pk) pk = v;
            const wx = v - b;
            s += wx;
            s2 += wx * wx;
          }
          this.peak![u] = pk;
          if (natural) {
            this.sum![u] += s;
            this.sumSq![u] += s2;
            this.n![u] += inner;
          }
        }
      }
      for (let u = 0; u < units; u++) k.fired[u] += fired[u];
    }
    k.examples += B;
    this.examples += B;
  }

  /** The layer summary and the units that look like traps. */
  finish(): { layer: ActivationLayer; flagged: FlaggedUnit[] } | null {
    if (this.error || this.units === 0) return null;
    const units = this.units;
    const natural = [...this.kinds.entries()].filter(([, k]) => k.natural && k.examples > 0);
    const rateOf = (u: number) => (natural.length ? Math.min(...natural.map(([, k]) => k.fired[u] / k.examples)) : 1);
    const hist = new Array(RATE_BINS).fill(0);
    let dormant = 0;
    const gains = this.spec.gains && this.spec.gains.length === units ? this.spec.gains : null;
    const paths = this.spec.pathGains && this.spec.pathGains.length === units ? this.spec.pathGains : null;
    const gMed = gains ? positiveMedian(gains) : 0;
    const pMed = paths ? positiveMedian(paths) : 0;
    const flagged: FlaggedUnit[] = [];
    for (let u = 0; u < units; u++) {
      const r = rateOf(u);
      hist[Math.min(RATE_BINS - 1, Math.floor(r * RATE_BINS))]++;
      if (natural.length && natural.every(([, k]) => k.fired[u] === 0)) dormant++;
      const gain = gains && gMed > 0 ? gains[u] / gMed : null;
      const pathGain = paths && pMed > 0 ? paths[u] / pMed : null;
      if (r <= PROBE_DORMANT_RATE && Math.max(gain ?? 0, pathGain ?? 0) >= PROBE_TRAP_GAIN) {
        const n = this.n![u];
        const mean = n ? this.sum![u] / n : 0;
        const sd = n ? Math.sqrt(Math.max(0, this.sumSq![u] / n - mean * mean)) : 0;
        const b = this.spec.bias && this.spec.bias.length === units ? this.spec.bias[u] : null;
        flagged.push({
          layer: this.spec.name,
          unit: u,
          rate: r,
          rates: Object.fromEntries([...this.kinds.entries()].map(([kind, k]) => [kind, k.fired[u] / k.examples])),
          biasTailZ: b !== null && sd > 0 ? (-b - mean) / sd : null,
          peak: this.peak![u],
          gain,
          pathGain,
        });
      }
    }
    return {
      layer: {
        name: this.spec.name,
        weight: this.spec.weightName,
        bias: this.spec.biasName,
        units,
        unitAxis: this.axis,
        examples: this.examples,
        rateHistogram: hist,
        dormantUnits: dormant,
        medianGain: gains ? gMed : null,
        flagged: flagged.map((f) => f.unit),
      },
      flagged,
    };
  }
}

function positiveMedian(v: Float64Array): number {
  const s = [...v].filter((x) => x > 0 && Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return 0;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// ---------- layers of an ONNX graph ----------

interface Outgoing {
  /** |w| summed per (unit, next unit) and squared per unit */
  abs: Float64Array; // units × nextUnits
  sq: Float64Array; // units
  nextUnits: number;
  /** the tensor the consumer writes (its pre-activation if a Relu follows) */
  output: string;
}

/** Outgoing weights of the `units` channels of tensor `act`, through one consumer node. */
function outgoingOf(view: OnnxProbeView, act: string, consumer: OnnxNodeRef, consumersOf: Map<string, OnnxNodeRef[]>, units: number | null): Outgoing | null {
  let node = consumer;
  let groupSize = 1;
  if ((node.opType === 'Flatten' || node.opType === 'Reshape') && node.inputs[0] === act) {
    const next = consumersOf.get(node.outputs[0]) ?? [];
    if (next.length !== 1) return null;
    node = next[0];
    groupSize = 0; // resolved from the weight below
  }
  if (node.domain !== '' || node.inputs[0] !== (groupSize === 0 ? consumer.outputs[0] : act)) return null;
  const w = view.tensors.get(node.inputs[1]);
  if (!w || w.dims.reduce((a, b) => a * b, 1) > PROBE_MAX_WEIGHT_ELEMENTS) return null;
  const vals = onnxTensorFloats(view, w);
  if (!vals) return null;
  let inF: number;
  let outF: number;
  let at: (i: number, k: number) => number;
  let kernel = 1;
  if (node.opType === 'Gemm' && w.dims.length === 2) {
    const transB = (node.attrs.find((a) => a.name === 'transB')?.i ?? 0) !== 0;
    if ((node.attrs.find((a) => a.name === 'transA')?.i ?? 0) !== 0) return null;
    [outF, inF] = transB ? [w.dims[0], w.dims[1]] : [w.dims[1], w.dims[0]];
    at = transB ? (i, k) => vals[k * inF + i] : (i, k) => vals[i * outF + k];
  } else if (node.opType === 'MatMul' && w.dims.length === 2) {
    [inF, outF] = [w.dims[0], w.dims[1]];
    at = (i, k) => vals[i * outF + k];
  } else if (node.opType === 'Conv' && w.dims.length >= 3 && groupSize === 1) {
    if ((node.attrs.find((a) => a.name === 'group')?.i ?? 1) !== 1) return null;
    outF = w.dims[0];
    inF = w.dims[1];
    kernel = w.dims.slice(2).reduce((a, b) => a * b, 1);
    at = () => 0;
  } else return null;
  const n = units ?? inF;
  if (groupSize === 0) {
    if (!units || inF % units !== 0) return null;
    groupSize = inF / units;
  } else if (inF !== n) return null;
  const abs = new Float64Array(n * outF);
  const sq = new Float64Array(n);
  for (let u = 0; u < n; u++) {
    for (let k = 0; k < outF; k++) {
      let a = 0;
      let s = 0;
      if (node.opType === 'Conv') {
        const base = (k * inF + u) * kernel;
        for (let q = 0; q < kernel; q++) {
          const v = vals[base + q];
          a += Math.abs(v);
          s += v * v;
        }
      } else {
        for (let g = 0; g < groupSize; g++) {
          const v = at(u * groupSize + g, k);
          a += Math.abs(v);
          s += v * v;
        }
      }
      abs[u * outF + k] = a;
      sq[u] += s;
    }
  }
  let output = node.outputs[0];
  // MatMul + bias Add: the pre-activation is the Add's output
  const adds = consumersOf.get(output) ?? [];
  if (node.opType === 'MatMul' && adds.length === 1 && adds[0].opType === 'Add') output = adds[0].outputs[0];
  return { abs, sq, nextUnits: outF, output };
}

/**
 * Every Relu of the main graph, as a layer to sweep: its input is the pre-activation, its producer
 * gives the bias, its consumers the outgoing weights and path gains (to the outputs through later
 * tracked layers; 1 where the path leaves what can be followed).
 */
export function findSweepLayers(view: OnnxProbeView): SweepLayerSpec[] {
  const producer = new Map<string, OnnxNodeRef>();
  const consumersOf = new Map<string, OnnxNodeRef[]>();
  for (const n of view.nodes) {
    for (const o of n.outputs) producer.set(o, n);
    for (const i of n.inputs) if (i) consumersOf.set(i, [...(consumersOf.get(i) ?? []), n]);
  }
  const graphInputs = new Set(view.inputs.map((i) => i.name));
  const graphOutputs = new Set(view.outputs.map((o) => o.name));
  const relus = view.nodes.filter((n) => n.opType === 'Relu' && n.domain === '' && n.inputs[0] && !graphInputs.has(n.inputs[0]) && !graphOutputs.has(n.inputs[0]) && producer.has(n.inputs[0])).slice(0, PROBE_MAX_EXPOSED);
  const reluByPre = new Map(relus.map((r) => [r.inputs[0], r]));
  const specs = new Map<string, SweepLayerSpec>();
  const outgoing = new Map<string, Outgoing | null>();

  for (const r of relus) {
    const pre = r.inputs[0];
    const p = producer.get(pre)!;
    let unitAxis: SweepLayerSpec['unitAxis'] = 'auto';
    let biasName: string | null = null;
    let weightName: string | null = null;
    let units: number | null = null;
    if (p.opType === 'Conv') {
      unitAxis = 1;
      weightName = p.inputs[1] ?? null;
      biasName = p.inputs[2] || null;
      units = view.tensors.get(p.inputs[1])?.dims[0] ?? null;
    } else if (p.opType === 'Gemm') {
      unitAxis = 'last';
      weightName = p.inputs[1] ?? null;
      biasName = p.inputs[2] || null;
      const w = view.tensors.get(p.inputs[1]);
      if (w?.dims.length === 2) units = (p.attrs.find((a) => a.name === 'transB')?.i ?? 0) ? w.dims[0] : w.dims[1];
    } else if (p.opType === 'MatMul') {
      unitAxis = 'last';
      weightName = p.inputs[1] ?? null;
    } else if (p.opType === 'Add') {
      const b = p.inputs.find((i) => view.tensors.has(i) && (view.tensors.get(i)!.dims.length === 1 || view.tensors.get(i)!.dims.every((d, k, a) => d === 1 || k === a.length - 1)));
      const other = p.inputs.find((i) => i !== b);
      const mm = other ? producer.get(other) : undefined;
      if (b && mm?.opType === 'MatMul') {
        unitAxis = 'last';
        biasName = b;
        weightName = mm.inputs[1] ?? null;
      }
    }
    let bias: Float32Array | null = null;
    if (biasName) {
      const bt = view.tensors.get(biasName);
      bias = bt ? onnxTensorFloats(view, bt) : null;
      if (bias && units !== null && bias.length !== units) bias = null;
    }
    units ??= bias?.length ?? null;
    const cons = consumersOf.get(r.outputs[0]) ?? [];
    const outs = cons.map((c) => outgoingOf(view, r.outputs[0], c, consumersOf, units));
    const known = outs.length > 0 && outs.every((o) => o !== null) && !graphOutputs.has(r.outputs[0]);
    const combined = known ? (outs as Outgoing[]) : null;
    outgoing.set(pre, combined && combined.length === 1 ? combined[0] : null);
    let gains: Float64Array | null = null;
    if (combined) {
      const n = combined[0].sq.length;
      if (combined.every((o) => o.sq.length === n)) {
        gains = new Float64Array(n);
        for (const o of combined) for (let u = 0; u < n; u++) gains[u] += o.sq[u];
        for (let u = 0; u < n; u++) gains[u] = Math.sqrt(gains[u]);
      }
    }
    const elemType = view.valueInfo.get(pre)?.elemType || 1;
    specs.set(pre, { name: pre, unitAxis, weightName, biasName, bias, gains, pathGains: null, elemType });
  }

  // Path gains, from the outputs backwards: P(u) = Σ_k |W[k,u]| · P_next(k), P_next = 1 past the last tracked layer.
  const memo = new Map<string, Float64Array | null>();
  const pathOf = (pre: string, depth: number): Float64Array | null => {
    if (memo.has(pre)) return memo.get(pre)!;
    if (depth > 64) return null;
    memo.set(pre, null);
    const o = outgoing.get(pre);
    if (!o) return null;
    const nextSpec = reluByPre.has(o.output) ? specs.get(o.output) : undefined;
    const nextPath = nextSpec ? pathOf(o.output, depth + 1) : null;
    if (nextSpec && !nextPath) return null;
    const n = o.sq.length;
    const out = new Float64Array(n);
    for (let u = 0; u < n; u++) {
      let s = 0;
      for (let k = 0; k < o.nextUnits; k++) s += o.abs[u * o.nextUnits + k] * (nextPath ? nextPath[k] : 1);
      out[u] = s;
    }
    memo.set(pre, out);
    return out;
  };
  for (const [pre, spec] of specs) spec.pathGains = pathOf(pre, 0);
  return [...specs.values()];
}

/** Sweep specs for the hidden layers of an MLP stack (weight-only files, simulated in TypeScript). */
export function stackSweepLayers(stack: MlpStack): SweepLayerSpec[] {
  const L = stack.layers.length;
  const paths: Float64Array[] = new Array(L);
  const specs: SweepLayerSpec[] = [];
  for (let l = L - 2; l >= 0; l--) {
    const layer = stack.layers[l];
    const next = stack.layers[l + 1];
    const gains = new Float64Array(layer.out);
    const path = new Float64Array(layer.out);
    const after = l + 1 < L - 1 ? paths[l + 1] : null;
    for (let k = 0; k < next.out; k++) {
      for (let u = 0; u < next.in; u++) {
        const w = next.weight[k * next.in + u];
        gains[u] += w * w;
        path[u] += Math.abs(w) * (after ? after[k] : 1);
      }
    }
    for (let u = 0; u < layer.out; u++) gains[u] = Math.sqrt(gains[u]);
    paths[l] = path;
    specs.unshift({ name: layer.name, unitAxis: 'last', weightName: layer.weightName, biasName: layer.biasName, bias: layer.bias, gains, pathGains: path, elemType: 1 });
  }
  return specs;
}

/** One finding per layer with flagged units. */
export function sweepFindings(flagged: readonly FlaggedUnit[], file: string | null): Finding[] {
  const byLayer = new Map<string, FlaggedUnit[]>();
  for (const f of flagged) byLayer.set(f.layer, [...(byLayer.get(f.layer) ?? []), f]);
  return [...byLayer.entries()].map(([layer, units]) => {
    const top = [...units].sort((a, b) => Math.max(b.gain ?? 0, b.pathGain ?? 0) - Math.max(a.gain ?? 0, a.pathGain ?? 0));
    const g = top[0];
    const fmt = (v: number | null) => (v === null ? 'n/a' : v >= 100 ? v.toFixed(0) : v.toFixed(1));
    return {
      id: 'probe/dormant-high-gain-unit',
      category: 'privacy-trap',
      severity: 'warning',
      title: `${units.length} unit${units.length > 1 ? 's' : ''} in "${layer}" never fire on natural probes yet carry outsized gain`,
      detail:
        `In layer "${layer}", unit${units.length > 1 ? 's' : ''} ${units.slice(0, 12).map((u) => u.unit).join(', ')}${units.length > 12 ? ', …' : ''} stayed silent on the synthetic natural probes ` +
        `(firing rate ≤ ${PROBE_DORMANT_RATE * 100}%) while their outgoing weights are ${fmt(g.gain)}× (path gain ${fmt(g.pathGain)}×) the layer median. ` +
        'This is the shape of a privacy backdoor\'s data trap (Feng & Tramèr, ICML 2024): the one training example that wakes such a unit dominates its gradient and is written into the weights, where it can be read back.',
      ...(file ? { file } : {}),
      evidence: {
        layer,
        units: units.map((u) => u.unit),
        rates: units.map((u) => u.rate),
        biasTailZ: units.map((u) => (u.biasTailZ === null ? null : Number(u.biasTailZ.toFixed(2)))),
        gain: units.map((u) => (u.gain === null ? null : Number(u.gain.toFixed(1)))),
        pathGain: units.map((u) => (u.pathGain === null ? null : Number(u.pathGain.toFixed(1)))),
        peak: units.map((u) => u.peak),
      },
    } satisfies Finding;
  });
}

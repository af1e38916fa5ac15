import type { ByteSource } from '../io/byte-source';
import { PROBE_MAX_LAYERS, PROBE_MAX_WEIGHT_ELEMENTS } from '../io/limits';
import type { ModelInfo, TensorInfo } from '../model/types';
import { decodeTensorBytes } from '../stats/decode';
import { onnxTensorFloats, type OnnxNodeRef, type OnnxProbeView } from './onnx-edit';

/**
 * A stack of fully connected layers with ReLU between them (the "small MLP head" of THREATS.md §8),
 * with its weights decoded: what the latch test simulates and what a weight-only file is swept with.
 */
export interface DenseLayer {
  /** the layer's name: the weight's prefix (`fc1`) or the Gemm node's name */
  name: string;
  weightName: string;
  biasName: string | null;
  in: number;
  out: number;
  /** out × in, row-major: row j is unit j's incoming weights */
  weight: Float32Array;
  bias: Float32Array;
}

export interface MlpStack {
  source: 'onnx-graph' | 'tensors';
  layers: DenseLayer[];
  /** names of the hidden pre-activations in the ONNX graph (layer i's output), when from a graph */
  preActivations?: string[];
}

const transpose = (w: Float32Array, rows: number, cols: number): Float32Array => {
  const t = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = w[r * cols + c];
  return t;
};

const attrInt = (n: OnnxNodeRef, name: string, dflt: number) => n.attrs.find((a) => a.name === name)?.i ?? dflt;
const attrFloat = (n: OnnxNodeRef, name: string, dflt: number) => n.attrs.find((a) => a.name === name)?.f ?? dflt;

/** A dense layer read from a Gemm, or a MatMul (+ Add), whose weights are constants. */
export function denseFromNode(view: OnnxProbeView, node: OnnxNodeRef, bias: { name: string } | null = null): DenseLayer | null {
  const weightName = node.inputs[1];
  const wt = view.tensors.get(weightName);
  if (!wt || wt.dims.length !== 2) return null;
  const [r, c] = wt.dims;
  if (r * c > PROBE_MAX_WEIGHT_ELEMENTS) return null;
  const raw = onnxTensorFloats(view, wt);
  if (!raw) return null;
  let weight: Float32Array;
  let inF: number;
  let outF: number;
  if (node.opType === 'Gemm') {
    if (attrInt(node, 'transA', 0) !== 0) return null;
    const alpha = attrFloat(node, 'alpha', 1);
    const beta = attrFloat(node, 'beta', 1);
    const transB = attrInt(node, 'transB', 0) !== 0;
    [outF, inF] = transB ? [r, c] : [c, r];
    weight = transB ? raw : transpose(raw, r, c);
    if (alpha !== 1) for (let i = 0; i < weight.length; i++) weight[i] *= alpha;
    const b = new Float32Array(outF);
    const cName = node.inputs[2];
    if (cName) {
      const ct = view.tensors.get(cName);
      const cv = ct ? onnxTensorFloats(view, ct) : null;
      if (!cv) return null;
      if (cv.length === outF) for (let j = 0; j < outF; j++) b[j] = beta * cv[j];
      else if (cv.length === 1) b.fill(beta * cv[0]);
      else return null;
    }
    return { name: node.name || node.outputs[0], weightName, biasName: cName || null, in: inF, out: outF, weight, bias: b };
  }
  if (node.opType === 'MatMul') {
    [inF, outF] = [r, c];
    weight = transpose(raw, r, c);
    const b = new Float32Array(outF);
    if (bias) {
      const bt = view.tensors.get(bias.name);
      const bv = bt ? onnxTensorFloats(view, bt) : null;
      if (!bv || bv.length !== outF) return null;
      b.set(bv);
    }
    return { name: node.name || node.outputs[0], weightName, biasName: bias?.name ?? null, in: inF, out: outF, weight, bias: b };
  }
  return null;
}

/**
 * The whole main graph as an MLP stack, when it is one: [Flatten|Reshape] → (Gemm | MatMul [+ Add]) →
 * Relu → ... → (Gemm | MatMul [+ Add]) [→ Softmax | LogSoftmax] → output. Anything else returns null.
 */
export function stackFromOnnx(view: OnnxProbeView): MlpStack | null {
  if (view.inputs.filter((i) => !view.initializerNames.has(i.name)).length !== 1) return null;
  const consumers = new Map<string, OnnxNodeRef[]>();
  for (const n of view.nodes) for (const i of n.inputs) if (i) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const outputs = new Set(view.outputs.map((o) => o.name));
  let cur = view.inputs.find((i) => !view.initializerNames.has(i.name))!.name;
  const layers: DenseLayer[] = [];
  const pre: string[] = [];
  const one = (name: string) => {
    const c = consumers.get(name) ?? [];
    return c.length === 1 ? c[0] : null;
  };
  let n = one(cur);
  if (n && (n.opType === 'Flatten' || n.opType === 'Reshape') && layers.length === 0) {
    cur = n.outputs[0];
    n = one(cur);
  }
  for (let guard = 0; n && guard <= PROBE_MAX_LAYERS; guard++) {
    if (n.domain !== '' || (n.opType !== 'Gemm' && n.opType !== 'MatMul')) return null;
    let layer: DenseLayer | null;
    let out = n.outputs[0];
    if (n.opType === 'MatMul') {
      const add = one(out);
      const biasName = add && add.opType === 'Add' ? add.inputs.find((i) => i !== out && view.tensors.has(i)) : undefined;
      if (add && add.opType === 'Add' && biasName) {
        layer = denseFromNode(view, n, { name: biasName });
        out = add.outputs[0];
      } else layer = denseFromNode(view, n);
    } else layer = denseFromNode(view, n);
    if (!layer || (layers.length && layers[layers.length - 1].out !== layer.in)) return null;
    layers.push(layer);
    if (outputs.has(out)) return layers.length >= 2 ? { source: 'onnx-graph', layers, preActivations: pre } : null;
    const next = one(out);
    if (next && (next.opType === 'Softmax' || next.opType === 'LogSoftmax') && outputs.has(next.outputs[0])) return layers.length >= 2 ? { source: 'onnx-graph', layers, preActivations: pre } : null;
    if (!next || next.opType !== 'Relu') return null;
    pre.push(out);
    cur = next.outputs[0];
    n = one(cur);
  }
  return null;
}

/** Natural sort: `fc2` before `fc10`. */
const natural = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

function isFloat(t: TensorInfo): boolean {
  return t.dtype === 'float32' || t.dtype === 'float16' || t.dtype === 'bfloat16' || t.dtype === 'float64';
}

/** Reads a tensor's values by range from its file (plain little-endian bytes only). */
export async function readTensorFloats(t: TensorInfo, sources: readonly ByteSource[], signal?: AbortSignal): Promise<Float32Array | null> {
  if (!isFloat(t) || t.offset < 0 || (t.encoding && t.encoding !== 'raw') || t.numel > PROBE_MAX_WEIGHT_ELEMENTS) return null;
  if (t.stride && t.stride.length) {
    // only contiguous row-major views
    let s = 1;
    for (let i = t.shape.length - 1; i >= 0; i--) {
      if (t.shape[i] !== 1 && t.stride[i] !== s) return null;
      s *= t.shape[i];
    }
  }
  const src = sources.find((s) => s.name === t.file);
  if (!src) return null;
  const bytesPer = t.dtype === 'float64' ? 8 : t.dtype === 'float32' ? 4 : 2;
  const need = t.numel * bytesPer;
  if (t.length < need || t.offset + need > src.size) return null;
  const bytes = await src.read(t.offset, need, signal);
  if (bytes.length !== need) return null;
  return decodeTensorBytes(t.dtype, bytes);
}

/**
 * An MLP stack from a weight-only file (safetensors, a PyTorch state_dict): `<p>.weight` [out, in]
 * with `<p>.bias` [out] that chain in natural name order (fc1 → fc2 → ...), and no other weight
 * matrices or convolutions beside them. The activation between layers is assumed to be ReLU.
 */
export async function stackFromTensors(model: ModelInfo, sources: readonly ByteSource[], signal?: AbortSignal): Promise<MlpStack | null> {
  const byName = new Map(model.tensors.map((t) => [t.name, t]));
  const weights = model.tensors.filter((t) => isFloat(t) && t.name.endsWith('weight') && t.shape.length >= 2).sort((a, b) => natural(a.name, b.name));
  // Convolutions, embeddings and attention make this something other than an MLP: not simulated.
  if (weights.length < 2 || weights.length > PROBE_MAX_LAYERS || weights.some((w) => w.shape.length !== 2)) return null;
  const layers: DenseLayer[] = [];
  for (const w of weights) {
    const [out, inF] = w.shape;
    const prefix = w.name.slice(0, -'weight'.length);
    const b = byName.get(`${prefix}bias`);
    if (b && (b.shape.length !== 1 || b.shape[0] !== out)) return null;
    if (layers.length && layers[layers.length - 1].out !== inF) return null;
    const wv = await readTensorFloats(w, sources, signal);
    const bv = b ? await readTensorFloats(b, sources, signal) : new Float32Array(out);
    if (!wv || !bv) return null;
    layers.push({ name: prefix.replace(/[._]$/, '') || w.name, weightName: w.name, biasName: b?.name ?? null, in: inF, out, weight: wv, bias: bv });
  }
  return { source: 'tensors', layers };
}

/** Forward pass; returns the pre-activations of every layer (the last one = logits). */
export function forwardStack(stack: MlpStack, x: ArrayLike<number>): Float64Array[] {
  const pre: Float64Array[] = [];
  let a: ArrayLike<number> = x;
  stack.layers.forEach((l, li) => {
    const z = new Float64Array(l.out);
    for (let j = 0; j < l.out; j++) {
      let s = l.bias[j];
      const row = j * l.in;
      for (let i = 0; i < l.in; i++) s += l.weight[row + i] * a[i];
      z[j] = s;
    }
    pre.push(z);
    if (li < stack.layers.length - 1) a = z.map((v) => (v > 0 ? v : 0));
  });
  return pre;
}

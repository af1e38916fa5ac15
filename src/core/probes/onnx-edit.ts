import { ParseError } from '../io/errors';
import { appendGraphOutputs as appendOnnxGraphOutputs, type OnnxLayout } from '../formats/onnx/onnx-layout';
import type { DType } from '../model/dtype';
import { decodeTensorBytes } from '../stats/decode';
import { PROBE_MAX_GRAPH_NODES } from '../io/limits';

/**
 * A minimal, bounds-checked walk over the ONNX protobuf (onnx/onnx.proto3, field numbers cited inline)
 * for what the probes need: the main graph's nodes, inputs and outputs, the float values of
 * initializers and Constant nodes, and where the graph field sits so that a copy of the model can
 * expose intermediate tensors as extra graph outputs. Subgraphs are skipped; nothing is executed.
 */

const FORMAT = 'onnx';

/** ONNX TensorProto.DataType → the names onnxruntime uses for tensors. */
export const ONNX_ELEM_TYPES: Record<number, string> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string', 9: 'bool',
  10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64', 16: 'bfloat16',
};

const DECODABLE: Record<number, DType> = { 1: 'float32', 10: 'float16', 11: 'float64', 16: 'bfloat16' };

export interface OnnxTensorRef {
  name: string;
  dims: number[];
  dataType: number;
  /** raw_data (field 9) as [start, end) in the model bytes, when present */
  raw: [number, number] | null;
  /** float_data (field 4) or double_data (field 10) payloads, packed or not */
  floatData: number[] | null;
  /** stored outside the protobuf (data_location = EXTERNAL), and the `location` it names */
  external: boolean;
  location?: string;
}

export interface OnnxAttr {
  name: string;
  i?: number;
  f?: number;
  s?: string;
  ints?: number[];
  floats?: number[];
  /** a tensor attribute (Constant's `value`) */
  t?: OnnxTensorRef;
}

export interface OnnxNodeRef {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attrs: OnnxAttr[];
}

export interface OnnxValueRef {
  name: string;
  elemType: number;
  /** dim_value, dim_param (string) or null per dim; null when there is no shape */
  shape: (number | string | null)[] | null;
}

export interface OnnxProbeView {
  bytes: Uint8Array;
  /** the graph field (ModelProto field 7): [tag start, payload start, payload end) of its last occurrence */
  graphField: { tagStart: number; payloadStart: number; payloadEnd: number };
  nodes: OnnxNodeRef[];
  inputs: OnnxValueRef[];
  outputs: OnnxValueRef[];
  valueInfo: Map<string, OnnxValueRef>;
  /** initializers and Constant-node tensors by name (the Constant's output name) */
  tensors: Map<string, OnnxTensorRef>;
  initializerNames: Set<string>;
}

class Cursor {
  at: number;
  constructor(
    readonly bytes: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.at = start;
  }
  fail(code: string, message: string): never {
    throw new ParseError(FORMAT, code, this.at, message);
  }
  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.at >= this.end) this.fail('truncated', `varint runs past byte ${this.end}`);
      const b = this.bytes[this.at++];
      // Above 2^53 the value is no longer exact; such values never denote a length or dim we can use.
      result += (b & 0x7f) * mul;
      mul *= 128;
      if ((b & 0x80) === 0) return result;
    }
    this.fail('bad-varint', `varint longer than 10 bytes at byte ${this.at}`);
  }
  /** int64 varints are two's complement over 64 bits: negative values come back negative. */
  int64(): number {
    const v = this.varint();
    return v >= 2 ** 63 ? v - 2 ** 64 : v;
  }
  len(): [number, number] {
    const n = this.varint();
    if (n > this.end - this.at) this.fail('truncated', `field of ${n} bytes at byte ${this.at} runs past byte ${this.end}`);
    const s = this.at;
    this.at += n;
    return [s, this.at];
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.advance(8);
    else if (wire === 5) this.advance(4);
    else if (wire === 2) this.len();
    else this.fail('bad-wire-type', `wire type ${wire} at byte ${this.at}`);
  }
  advance(n: number): void {
    if (n > this.end - this.at) this.fail('truncated', `${n} bytes at byte ${this.at} run past byte ${this.end}`);
    this.at += n;
  }
  f32(): number {
    this.advance(4);
    return new DataView(this.bytes.buffer, this.bytes.byteOffset + this.at - 4, 4).getFloat32(0, true);
  }
  f64(): number {
    this.advance(8);
    return new DataView(this.bytes.buffer, this.bytes.byteOffset + this.at - 8, 8).getFloat64(0, true);
  }
}

const utf8 = new TextDecoder('utf-8');
const str = (b: Uint8Array, [s, e]: [number, number]) => utf8.decode(b.subarray(s, e));

/** Reads `wire`-typed values of a repeated scalar field, packed or not. */
function readRepeated(c: Cursor, wire: number, kind: 'varint' | 'f32' | 'f64', out: number[], max: number): void {
  const one = (cc: Cursor) => (kind === 'varint' ? cc.int64() : kind === 'f32' ? cc.f32() : cc.f64());
  if (wire === 2) {
    const [s, e] = c.len();
    const inner = new Cursor(c.bytes, s, e);
    while (inner.at < e) {
      if (out.length >= max) inner.fail('too-many-values', `more than ${max} values in one repeated field`);
      out.push(one(inner));
    }
  } else {
    if (out.length >= max) c.fail('too-many-values', `more than ${max} values in one repeated field`);
    out.push(one(c));
  }
}

function parseTensor(b: Uint8Array, s: number, e: number): OnnxTensorRef {
  const c = new Cursor(b, s, e);
  const t: OnnxTensorRef = { name: '', dims: [], dataType: 0, raw: null, floatData: null, external: false };
  while (c.at < e) {
    const key = c.varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (field === 1) readRepeated(c, wire, 'varint', t.dims, 64);
    else if (field === 2 && wire === 0) t.dataType = c.varint();
    else if (field === 4) readRepeated(c, wire, 'f32', (t.floatData ??= []), 1 << 26);
    else if (field === 10) readRepeated(c, wire, 'f64', (t.floatData ??= []), 1 << 26);
    else if (field === 8 && wire === 2) t.name = str(b, c.len());
    else if (field === 9 && wire === 2) t.raw = c.len();
    else if (field === 14 && wire === 0) t.external = c.varint() === 1;
    else if (field === 13 && wire === 2) {
      // StringStringEntryProto { key = 1, value = 2 }
      const [es, ee] = c.len();
      const ec = new Cursor(b, es, ee);
      let k = '';
      let v = '';
      while (ec.at < ee) {
        const kk = ec.varint();
        if (kk === ((1 << 3) | 2)) k = str(b, ec.len());
        else if (kk === ((2 << 3) | 2)) v = str(b, ec.len());
        else ec.skip(kk & 7);
      }
      if (k === 'location') t.location = v;
    }
    else c.skip(wire);
  }
  return t;
}

function parseAttr(b: Uint8Array, s: number, e: number): OnnxAttr {
  const c = new Cursor(b, s, e);
  const a: OnnxAttr = { name: '' };
  while (c.at < e) {
    const key = c.varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (field === 1 && wire === 2) a.name = str(b, c.len());
    else if (field === 2 && wire === 5) a.f = c.f32();
    else if (field === 3 && wire === 0) a.i = c.int64();
    else if (field === 4 && wire === 2) a.s = str(b, c.len());
    else if (field === 5 && wire === 2) {
      const [ts, te] = c.len();
      a.t = parseTensor(b, ts, te);
    } else if (field === 7) readRepeated(c, wire, 'f32', (a.floats ??= []), 1 << 20);
    else if (field === 8) readRepeated(c, wire, 'varint', (a.ints ??= []), 1 << 20);
    else c.skip(wire);
  }
  return a;
}

function parseNode(b: Uint8Array, s: number, e: number): OnnxNodeRef {
  const c = new Cursor(b, s, e);
  const n: OnnxNodeRef = { name: '', opType: '', domain: '', inputs: [], outputs: [], attrs: [] };
  while (c.at < e) {
    const key = c.varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (wire !== 2) c.skip(wire);
    else if (field === 1) n.inputs.push(str(b, c.len()));
    else if (field === 2) n.outputs.push(str(b, c.len()));
    else if (field === 3) n.name = str(b, c.len());
    else if (field === 4) n.opType = str(b, c.len());
    else if (field === 7) n.domain = str(b, c.len());
    else if (field === 5) {
      const [as, ae] = c.len();
      n.attrs.push(parseAttr(b, as, ae));
    } else c.skip(wire);
  }
  return n;
}

function parseValueInfo(b: Uint8Array, s: number, e: number): OnnxValueRef {
  const c = new Cursor(b, s, e);
  const v: OnnxValueRef = { name: '', elemType: 0, shape: null };
  while (c.at < e) {
    const key = c.varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (field === 1 && wire === 2) v.name = str(b, c.len());
    else if (field === 2 && wire === 2) {
      // TypeProto.tensor_type (1) → elem_type (1), shape (2) → dim (1) → dim_value (1) | dim_param (2)
      const [ts, te] = c.len();
      const tc = new Cursor(b, ts, te);
      while (tc.at < te) {
        const k = tc.varint();
        if (k !== ((1 << 3) | 2)) {
          tc.skip(k & 7);
          continue;
        }
        const [ss, se] = tc.len();
        const sc = new Cursor(b, ss, se);
        while (sc.at < se) {
          const k2 = sc.varint();
          if (k2 === (1 << 3)) v.elemType = sc.varint();
          else if (k2 === ((2 << 3) | 2)) {
            v.shape = [];
            const [hs, he] = sc.len();
            const hc = new Cursor(b, hs, he);
            while (hc.at < he) {
              const k3 = hc.varint();
              if (k3 !== ((1 << 3) | 2)) {
                hc.skip(k3 & 7);
                continue;
              }
              const [ds, de] = hc.len();
              const dc = new Cursor(b, ds, de);
              let dim: number | string | null = null;
              while (dc.at < de) {
                const k4 = dc.varint();
                if (k4 === (1 << 3)) dim = dc.int64();
                else if (k4 === ((2 << 3) | 2)) dim = str(b, dc.len());
                else dc.skip(k4 & 7);
              }
              if (v.shape.length >= 64) hc.fail('too-many-dims', `more than 64 dims in "${v.name}"`);
              v.shape.push(dim);
            }
          } else sc.skip(k2 & 7);
        }
      }
    } else c.skip(wire);
  }
  return v;
}

/** Walks a ModelProto. Throws ParseError (format 'onnx') on structural damage. */
export function readOnnxProbeView(bytes: Uint8Array): OnnxProbeView {
  const top = new Cursor(bytes, 0, bytes.length);
  let graphField: OnnxProbeView['graphField'] | null = null;
  while (top.at < bytes.length) {
    const tagStart = top.at;
    const key = top.varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (field === 7 && wire === 2) {
      const [s, e] = top.len();
      graphField = { tagStart, payloadStart: s, payloadEnd: e };
    } else top.skip(wire);
  }
  if (!graphField) throw new ParseError(FORMAT, 'no-graph', 0, 'the ModelProto has no graph (field 7)');
  const view: OnnxProbeView = { bytes, graphField, nodes: [], inputs: [], outputs: [], valueInfo: new Map(), tensors: new Map(), initializerNames: new Set() };
  const g = new Cursor(bytes, graphField.payloadStart, graphField.payloadEnd);
  while (g.at < graphField.payloadEnd) {
    const key = g.varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (wire !== 2) {
      g.skip(wire);
      continue;
    }
    const [s, e] = g.len();
    if (field === 1) {
      if (view.nodes.length >= PROBE_MAX_GRAPH_NODES) g.fail('too-many-nodes', `more than ${PROBE_MAX_GRAPH_NODES} nodes`);
      const node = parseNode(bytes, s, e);
      view.nodes.push(node);
      if (node.opType === 'Constant' && node.domain === '' && node.outputs[0]) {
        const t = node.attrs.find((a) => a.name === 'value')?.t;
        if (t) view.tensors.set(node.outputs[0], { ...t, name: node.outputs[0] });
      }
    } else if (field === 5) {
      const t = parseTensor(bytes, s, e);
      view.tensors.set(t.name, t);
      view.initializerNames.add(t.name);
    } else if (field === 11) view.inputs.push(parseValueInfo(bytes, s, e));
    else if (field === 12) view.outputs.push(parseValueInfo(bytes, s, e));
    else if (field === 13) {
      const v = parseValueInfo(bytes, s, e);
      view.valueInfo.set(v.name, v);
    }
  }
  return view;
}

/** Float values of an initializer or Constant tensor, or null when it is not a plain float tensor held inside the protobuf. */
export function onnxTensorFloats(view: OnnxProbeView, t: OnnxTensorRef): Float32Array | null {
  if (t.external) return null;
  const n = t.dims.reduce((a, b) => a * b, 1);
  if (t.floatData && (t.dataType === 1 || t.dataType === 11)) return t.floatData.length === n ? Float32Array.from(t.floatData) : null;
  const dt = DECODABLE[t.dataType];
  if (!dt || !t.raw) return null;
  const raw = view.bytes.subarray(t.raw[0], t.raw[1]);
  try {
    const v = decodeTensorBytes(dt, raw);
    return v.length === n ? v : null;
  } catch {
    return null;
  }
}

/**
 * A copy of the model whose main graph also outputs `outputs` (ValueInfoProto with a name and a tensor
 * elem_type, no shape). The splice is the ONNX reader's `appendGraphOutputs`: protobuf lets a repeated
 * field be appended anywhere in its message, so only the graph's length prefix is rewritten.
 */
export function appendGraphOutputs(view: OnnxProbeView, outputs: readonly { name: string; elemType: number }[]): Uint8Array {
  const { tagStart, payloadStart, payloadEnd } = view.graphField;
  const layout: OnnxLayout = {
    size: view.bytes.length,
    model: [],
    graph: { field: 7, wire: 2, start: tagStart, dataStart: payloadStart, end: payloadEnd },
    graphFields: [],
  };
  return appendOnnxGraphOutputs(view.bytes, layout, outputs);
}

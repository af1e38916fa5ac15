import { decodeUtf8 } from '../../io/byte-reader';
import { ParseError } from '../../io/errors';
import { MAX_RANK, MAX_TENSORS, ONNX_MAX_ATTR_VALUES, ONNX_MAX_GRAPH_DEPTH, ONNX_MAX_NODE_FIELDS, ONNX_MAX_NODES, ONNX_MAX_STRING, ONNX_MAX_STRING_BYTES, ONNX_READ_CHUNK } from '../../io/limits';
import { byteSizeOf, numelOf } from '../../model/dtype';
import type { Attribute, AttributeValue, Dim, Graph, ModelInfo, OpNode, OpsetImport, TensorInfo, ValueInfo } from '../../model/types';
import type { Finding } from '../../report/finding';
import { scanOnnxDomains, type OnnxLocalFunction } from '../../scan/onnx/custom-ops';
import { parseExternalNumber, resolveExternalLocation, scanExternalData, type OnnxExternalRef } from '../../scan/onnx/external-data';
import { scanGraphFlow } from '../../scan/onnx/graph-flow';
import type { FileParse, FormatHandler, ParseContext, SniffContext } from '../types';
import {
  DATA_LOCATION_EXTERNAL, onnxDType, RawAttributeProto as A, RawAttributeType as AT, RawDimension, RawFunctionProto as F, RawGraphProto as G,
  RawModelProto as M, RawNodeProto as N, RawOperatorSetId, RawSparseTensorProto, RawStringStringEntry, RawTensorProto as T, RawTensorShapeProto,
  RawTrainingInfoProto, RawTypeProto, RawTypeTensor, RawValueInfoProto,
} from './onnx-proto';
import type { OnnxFieldSpan, OnnxLayout } from './onnx-layout';

export type { OnnxFieldSpan, OnnxLayout } from './onnx-layout';
import { ProtoCursor, WIRE_I32, WIRE_I64, WIRE_LEN, WIRE_VARINT } from './proto-cursor';

const FORMAT = 'onnx';

/** FileParse.extra of an ONNX file (plain data). */
export interface OnnxExtra {
  layout: OnnxLayout;
  irVersion: number | string | null;
  functions: (OnnxLocalFunction & { inputs: string[]; outputs: string[]; opsetImports: OpsetImport[] })[];
  trainingGraphs: Graph[];
  /** TensorProtos that keep their bytes in another file */
  externalTensors: number;
}

// ---------------------------------------------------------------- sniffing

/** ModelProto field → wire type (onnx.proto), for the content check. */
const MODEL_WIRES: Readonly<Record<number, number>> = {
  [M.irVersion]: WIRE_VARINT, [M.producerName]: WIRE_LEN, [M.producerVersion]: WIRE_LEN, [M.domain]: WIRE_LEN, [M.modelVersion]: WIRE_VARINT,
  [M.docString]: WIRE_LEN, [M.graph]: WIRE_LEN, [M.opsetImport]: WIRE_LEN, [M.metadataProps]: WIRE_LEN, [M.trainingInfo]: WIRE_LEN,
  [M.functions]: WIRE_LEN, [M.configuration]: WIRE_LEN,
};
const STRING_FIELDS = new Set<number>([M.producerName, M.producerVersion, M.domain, M.docString]);
/** IR versions defined so far go up to 11; leave room for future ones, but a varint of 2^40 is not an IR version */
const MAX_SNIFF_IR = 1000;

function sniffVarint(b: Uint8Array, i: number): [number, number] | null {
  let v = 0;
  let mul = 1;
  for (let k = 0; k < 8 && i + k < b.length; k++) {
    v += (b[i + k] & 0x7f) * mul;
    mul *= 128;
    if ((b[i + k] & 0x80) === 0) return [v, i + k + 1];
  }
  return null;
}

/**
 * Protobuf has no magic number, so the content check walks the ModelProto fields in the first bytes:
 * every tag must be a ModelProto field with its wire type, strings must be UTF-8, lengths must fit in
 * the file, and `ir_version` (field 1, which every writer puts first) must be present with a plausible
 * value. safetensors (a u64 length), zip ("PK"), pickle (0x80), JSON and text fail on the first tag
 * or soon after; random bytes pass one tag with p ≈ 12/256 and must pass all of them.
 */
export function sniffOnnx(ctx: SniffContext): boolean {
  const b = ctx.head;
  let i = 0;
  let fields = 0;
  let sawIr = false;
  while (i < b.length) {
    const tag = sniffVarint(b, i);
    if (!tag) return false;
    const [t, afterTag] = tag;
    const field = Math.floor(t / 8);
    const wire = t % 8;
    if (MODEL_WIRES[field] !== wire) return false;
    if (wire === WIRE_VARINT) {
      const v = sniffVarint(b, afterTag);
      if (!v) return sawIr && afterTag + 10 > b.length && b.length < ctx.size;
      if (field === M.irVersion) {
        if (v[0] < 1 || v[0] > MAX_SNIFF_IR) return false;
        sawIr = true;
      }
      i = v[1];
    } else {
      const len = sniffVarint(b, afterTag);
      if (!len) return false;
      const [n, start] = len;
      // a declared length past the end of the file: a truncated model if the rest looked right
      if (start + n > ctx.size) return sawIr && fields >= 1;
      if (start + n > b.length) {
        fields++;
        break;
      }
      if (STRING_FIELDS.has(field) && decodeUtf8(b.subarray(start, start + n)) === null) return false;
      i = start + n;
    }
    fields++;
  }
  return sawIr && (fields >= 2 || i >= ctx.size);
}

// ---------------------------------------------------------------- parsing state

interface State {
  c: ProtoCursor;
  file: string;
  findings: Finding[];
  tensors: TensorInfo[];
  externals: OnnxExternalRef[];
  nodes: number;
  stringBytes: number;
  nodeOffsets: Map<OpNode, number>;
  unknown: Map<string, { count: number; offset: number }>;
  tooDeep: boolean;
  /** tensors already added (listed or only checked for external data) */
  registered: WeakSet<TensorInfo>;
}

function fail(st: State, code: string, offset: number, message: string): never {
  throw new ParseError(FORMAT, code, offset, message);
}

function unknownField(st: State, where: string, field: number, offset: number): void {
  const key = `${where}.${field}`;
  const u = st.unknown.get(key);
  if (u) u.count++;
  else st.unknown.set(key, { count: 1, offset });
}

async function head(st: State, end: number): Promise<{ field: number; wire: number; start: number }> {
  const c = st.c;
  if (!c.has(Math.min(20, end - c.pos))) await c.fillHead(end);
  return c.tag(end);
}

async function readString(st: State, end: number, start: number, what: string): Promise<string> {
  const n = st.c.len(end, what, start);
  const kept = Math.min(n, ONNX_MAX_STRING);
  st.stringBytes += kept;
  if (st.stringBytes > ONNX_MAX_STRING_BYTES) fail(st, 'too-large', start, `strings in the model exceed the ${ONNX_MAX_STRING_BYTES}-byte limit at byte ${start}`);
  return st.c.string(n, end, what, ONNX_MAX_STRING);
}

/** Reads a LEN field that holds a submessage and returns its [start, end) bounds, cursor at its start. */
function sub(st: State, end: number, start: number, what: string): number {
  const n = st.c.len(end, what, start);
  return st.c.pos + n;
}

/**
 * Skips a field onnx.proto does not define, or a known field met with the wrong wire type (protobuf's
 * own parsers treat that as an unknown field too), and counts it for the `onnx/unknown-fields` finding.
 */
async function skipField(st: State, wire: number, end: number, start: number, where: string, field: number): Promise<void> {
  unknownField(st, where, field, start);
  await st.c.skipValue(wire, end, start, `${where} field ${field}`);
}

// ---------------------------------------------------------------- small messages

async function decodeEntry(st: State, end: number): Promise<{ key: string; value: string }> {
  let key = '';
  let value = '';
  while (st.c.pos < end) {
    const { field, wire, start } = await head(st, end);
    if (field === RawStringStringEntry.key && wire === WIRE_LEN) key = await readString(st, end, start, 'key');
    else if (field === RawStringStringEntry.value && wire === WIRE_LEN) value = await readString(st, end, start, 'value');
    else await skipField(st, wire, end, start, 'StringStringEntryProto', field);
  }
  return { key, value };
}

async function decodeOpset(st: State, end: number): Promise<OpsetImport> {
  let domain = '';
  let version = 0;
  while (st.c.pos < end) {
    const { field, wire, start } = await head(st, end);
    if (field === RawOperatorSetId.domain && wire === WIRE_LEN) domain = await readString(st, end, start, 'opset domain');
    else if (field === RawOperatorSetId.version && wire === WIRE_VARINT) {
      const v = st.c.int64(end);
      version = typeof v === 'number' ? v : Number(v);
    } else await skipField(st, wire, end, start, 'OperatorSetIdProto', field);
  }
  return { domain, version };
}

async function decodeDims(st: State, end: number, wire: number, start: number, into: (number | string)[]): Promise<void> {
  const c = st.c;
  if (wire === WIRE_VARINT) {
    into.push(c.int64(end));
    return;
  }
  const stop = sub(st, end, start, 'packed dims');
  while (c.pos < stop) {
    if (!c.has(Math.min(10, stop - c.pos))) await c.fill(Math.min(10, stop - c.pos), stop, 'packed dims');
    into.push(c.int64(stop));
    if (into.length > MAX_RANK * 4) {
      await c.skip(stop - c.pos, stop, 'packed dims');
      return;
    }
  }
}

// ---------------------------------------------------------------- tensors

interface DataSpan {
  field: number;
  offset: number;
  length: number;
  packed: boolean;
}

interface DecodedTensor {
  info: TensorInfo;
  entries: { key: string; value: string; offset: number }[];
  dataLocation: number;
  offset: number;
}

/**
 * TensorProto: dims, type and name are read; the data fields (raw_data, float_data...) are skipped and
 * only their byte ranges recorded, so tensors of any size cost a few bytes of memory.
 */
async function decodeTensor(st: State, end: number): Promise<DecodedTensor> {
  const c = st.c;
  const begin = c.pos;
  const dims: (number | string)[] = [];
  let dataType = 0;
  let name = '';
  let raw: { offset: number; length: number } | null = null;
  const spans: DataSpan[] = [];
  let strings = 0;
  const entries: { key: string; value: string; offset: number }[] = [];
  let dataLocation = 0;
  while (c.pos < end) {
    const { field, wire, start } = await head(st, end);
    switch (field) {
      case T.dims:
        if (wire === WIRE_VARINT || wire === WIRE_LEN) {
          await decodeDims(st, end, wire, start, dims);
          continue;
        }
        break;
      case T.dataType:
        if (wire === WIRE_VARINT) {
          dataType = c.int32(end);
          continue;
        }
        break;
      case T.name:
        if (wire === WIRE_LEN) {
          name = await readString(st, end, start, 'tensor name');
          continue;
        }
        break;
      case T.rawData:
        if (wire === WIRE_LEN) {
          const n = c.len(end, 'raw_data', start);
          raw = { offset: c.pos, length: n };
          await c.skip(n, end, 'raw_data');
          continue;
        }
        break;
      case T.externalData:
        if (wire === WIRE_LEN) {
          const stop = sub(st, end, start, 'external_data entry');
          entries.push({ ...(await decodeEntry(st, stop)), offset: start });
          continue;
        }
        break;
      case T.dataLocation:
        if (wire === WIRE_VARINT) {
          dataLocation = c.int32(end);
          continue;
        }
        break;
      case T.stringData:
        if (wire === WIRE_LEN) {
          strings++;
          await c.skip(c.len(end, 'string_data', start), end, 'string_data');
          continue;
        }
        break;
      case T.floatData:
      case T.int32Data:
      case T.int64Data:
      case T.doubleData:
      case T.uint64Data: {
        const fixed = field === T.floatData ? WIRE_I32 : field === T.doubleData ? WIRE_I64 : WIRE_VARINT;
        if (wire === WIRE_LEN) {
          const n = c.len(end, 'packed tensor data', start);
          spans.push({ field, offset: c.pos, length: n, packed: true });
          await c.skip(n, end, 'packed tensor data');
          continue;
        }
        if (wire === fixed) {
          const at = c.pos;
          await c.skipValue(wire, end, start);
          const last = spans.at(-1);
          // unpacked repeated values: contiguous only if nothing but their own tags sits between them
          if (last && last.field === field && !last.packed) last.length = c.pos - last.offset;
          else spans.push({ field, offset: at, length: c.pos - at, packed: false });
          continue;
        }
        break;
      }
      default:
        if (field === T.segment || field === T.docString || field === T.metadataProps) {
          await c.skipValue(wire, end, start);
          continue;
        }
    }
    await skipField(st, wire, end, start, 'TensorProto', field);
  }
  return { info: tensorInfo(st, begin, name, dims, dataType, raw, spans, strings, entries, dataLocation), entries, dataLocation, offset: begin };
}

function tensorInfo(
  st: State,
  begin: number,
  name: string,
  dims: (number | string)[],
  dataType: number,
  raw: { offset: number; length: number } | null,
  spans: DataSpan[],
  strings: number,
  entries: { key: string; value: string }[],
  dataLocation: number,
): TensorInfo {
  const dtype = onnxDType(dataType);
  const info: TensorInfo = { name, dtype, shape: [], numel: 0, file: st.file, offset: -1, length: 0, encoding: 'other' };
  const validDims = dims.length <= MAX_RANK && dims.every((d) => typeof d === 'number' && d >= 0);
  const numel = validDims ? numelOf(dims as number[]) : null;
  if (!validDims || numel === null) {
    st.findings.push({
      id: 'onnx/bad-dims',
      category: 'malformed',
      severity: 'error',
      title: `Tensor "${name.slice(0, 80)}" has invalid dims`,
      detail: `TensorProto dims must be at most ${MAX_RANK} non-negative integers whose product fits in 2^53; found [${dims.slice(0, 12).join(', ')}${dims.length > 12 ? ', …' : ''}]. Loaders reject it or allocate what it claims.`,
      file: st.file,
      offset: begin,
      evidence: { tensor: name, dims: dims.slice(0, 64).map(String) },
    });
    return info;
  }
  info.shape = dims as number[];
  info.numel = numel;
  if (dtype === 'unknown') {
    st.findings.push({
      id: 'onnx/unknown-dtype',
      category: 'malformed',
      severity: 'warning',
      title: `Tensor "${name.slice(0, 80)}" has unknown data type ${dataType}`,
      detail: `TensorProto.data_type ${dataType} is not a type Tamperscope knows (onnx.proto defines 1..26); its bytes are listed but not decoded.`,
      file: st.file,
      offset: begin,
      evidence: { tensor: name, dataType },
    });
  }
  const expected = byteSizeOf(dtype, numel);
  if (entries.length > 0 || dataLocation === DATA_LOCATION_EXTERNAL) {
    const location = entries.filter((e) => e.key === 'location').at(-1)?.value;
    const resolved = location === undefined ? null : resolveExternalLocation(st.file, location);
    const off = entries.filter((e) => e.key === 'offset').at(-1)?.value;
    const len = entries.filter((e) => e.key === 'length').at(-1)?.value;
    // an unsafe location is never resolved: the tensor names the raw location, which no folder file matches
    info.file = resolved?.path ?? location ?? '';
    info.offset = off === undefined ? 0 : (parseExternalNumber(off) ?? -1);
    info.length = len === undefined ? (expected ?? 0) : (parseExternalNumber(len) ?? 0);
    info.encoding = 'external';
    return info;
  }
  const sizeProblem = (field: string, found: number, want: number) =>
    st.findings.push({
      id: 'onnx/data-size-mismatch',
      category: 'malformed',
      severity: 'error',
      title: `Tensor "${name.slice(0, 80)}": ${field} holds ${found} bytes, expected ${want}`,
      detail: `Shape [${info.shape.join(', ')}] of ${dtype} needs ${want} bytes but ${field} holds ${found}. onnxruntime rejects the tensor; other readers may read past it or short.`,
      file: st.file,
      offset: begin,
      evidence: { tensor: name, field, found, expected: want },
    });
  if (raw) {
    info.offset = raw.offset;
    info.length = raw.length;
    info.encoding = 'raw';
    if (expected !== null && raw.length !== expected) sizeProblem('raw_data', raw.length, expected);
    return info;
  }
  if (spans.length === 1) {
    const s = spans[0];
    info.offset = s.offset;
    info.length = s.length;
    // float_data / double_data packed hold little-endian IEEE values: the same bytes raw_data would
    const plain = s.packed && ((s.field === T.floatData && (dtype === 'float32' || dtype === 'complex64')) || (s.field === T.doubleData && (dtype === 'float64' || dtype === 'complex128')));
    info.encoding = plain ? 'raw' : 'other';
    if (plain && expected !== null && s.length !== expected) sizeProblem(s.field === T.floatData ? 'float_data' : 'double_data', s.length, expected);
    return info;
  }
  if (spans.length > 1) {
    info.offset = spans[0].offset;
    info.length = spans.at(-1)!.offset + spans.at(-1)!.length - spans[0].offset;
    return info;
  }
  if (strings > 0) return info;
  info.encoding = 'raw';
  if (numel > 0) {
    st.findings.push({
      id: 'onnx/missing-data',
      category: 'malformed',
      severity: 'warning',
      title: `Tensor "${name.slice(0, 80)}" has no data`,
      detail: `Shape [${info.shape.join(', ')}] needs ${numel} elements but the TensorProto carries no raw_data, typed data or external data.`,
      file: st.file,
      offset: begin,
      evidence: { tensor: name },
    });
  }
  return info;
}

/** Adds a decoded tensor to the model's list under its final name and origin (and its external refs). */
function addTensor(st: State, t: DecodedTensor, name: string, origin: string, listed = true): TensorInfo {
  t.info.name = name;
  t.info.origin = origin;
  if (st.registered.has(t.info)) return t.info;
  st.registered.add(t.info);
  if (listed) {
    if (st.tensors.length >= MAX_TENSORS) fail(st, 'too-many-tensors', t.offset, `more than ${MAX_TENSORS} tensors (limit) at byte ${t.offset}`);
    st.tensors.push(t.info);
  }
  if (t.entries.length > 0 || t.dataLocation === DATA_LOCATION_EXTERNAL) st.externals.push({ tensor: t.info, entries: t.entries, dataLocation: t.dataLocation, offset: t.offset });
  return t.info;
}

interface DecodedSparse {
  values: DecodedTensor | null;
  indices: DecodedTensor | null;
  dims: (number | string)[];
  offset: number;
}

async function decodeSparse(st: State, end: number): Promise<DecodedSparse> {
  const out: DecodedSparse = { values: null, indices: null, dims: [], offset: st.c.pos };
  while (st.c.pos < end) {
    const { field, wire, start } = await head(st, end);
    if (field === RawSparseTensorProto.values && wire === WIRE_LEN) out.values = await decodeTensor(st, sub(st, end, start, 'sparse values'));
    else if (field === RawSparseTensorProto.indices && wire === WIRE_LEN) out.indices = await decodeTensor(st, sub(st, end, start, 'sparse indices'));
    else if (field === RawSparseTensorProto.dims && (wire === WIRE_VARINT || wire === WIRE_LEN)) await decodeDims(st, end, wire, start, out.dims);
    else await skipField(st, wire, end, start, 'SparseTensorProto', field);
  }
  return out;
}

/** A sparse tensor is listed as its values (what is stored), with the dense shape as its role. */
function addSparse(st: State, s: DecodedSparse, fallbackName: string, origin: string): TensorInfo | null {
  const name = s.values?.info.name || fallbackName;
  if (s.indices) addTensor(st, s.indices, s.indices.info.name || `${name}:indices`, origin, false);
  if (!s.values) {
    st.findings.push({
      id: 'onnx/sparse-no-values',
      category: 'malformed',
      severity: 'error',
      title: `Sparse tensor "${name.slice(0, 80)}" has no values`,
      detail: 'SparseTensorProto.values is required (onnx.proto); loaders reject the tensor.',
      file: st.file,
      offset: s.offset,
      evidence: { tensor: name },
    });
    return null;
  }
  const info = addTensor(st, s.values, name, origin);
  info.role = `sparse values of dense shape [${s.dims.slice(0, MAX_RANK).join(', ')}]`;
  return info;
}

// ---------------------------------------------------------------- value infos

async function decodeShape(st: State, end: number): Promise<Dim[] | null> {
  const dims: Dim[] = [];
  let tooMany = false;
  while (st.c.pos < end) {
    const { field, wire, start } = await head(st, end);
    if (field !== RawTensorShapeProto.dim || wire !== WIRE_LEN) {
      await skipField(st, wire, end, start, 'TensorShapeProto', field);
      continue;
    }
    const stop = sub(st, end, start, 'dim');
    if (dims.length >= MAX_RANK) {
      tooMany = true;
      await st.c.skip(stop - st.c.pos, stop);
      continue;
    }
    const d: Dim = { value: null };
    while (st.c.pos < stop) {
      const h = await head(st, stop);
      if (h.field === RawDimension.dimValue && h.wire === WIRE_VARINT) {
        const v = st.c.int64(stop);
        d.value = typeof v === 'number' && v >= 0 ? v : null;
      } else if (h.field === RawDimension.dimParam && h.wire === WIRE_LEN) d.param = await readString(st, stop, h.start, 'dim_param');
      else await skipField(st, h.wire, stop, h.start, 'Dimension', h.field);
    }
    dims.push(d);
  }
  return tooMany ? null : dims;
}

async function decodeValueInfo(st: State, end: number): Promise<ValueInfo> {
  const v: ValueInfo = { name: '', dtype: 'unknown', shape: null };
  while (st.c.pos < end) {
    const { field, wire, start } = await head(st, end);
    if (field === RawValueInfoProto.name && wire === WIRE_LEN) v.name = await readString(st, end, start, 'value name');
    else if (field === RawValueInfoProto.docString && wire === WIRE_LEN) v.doc = await readString(st, end, start, 'doc_string');
    else if (field === RawValueInfoProto.type && wire === WIRE_LEN) {
      const stop = sub(st, end, start, 'type');
      while (st.c.pos < stop) {
        const h = await head(st, stop);
        if ((h.field === RawTypeProto.tensorType || h.field === RawTypeProto.sparseTensorType) && h.wire === WIRE_LEN) {
          const tstop = sub(st, stop, h.start, 'tensor type');
          while (st.c.pos < tstop) {
            const t = await head(st, tstop);
            if (t.field === RawTypeTensor.elemType && t.wire === WIRE_VARINT) v.dtype = onnxDType(st.c.int32(tstop));
            else if (t.field === RawTypeTensor.shape && t.wire === WIRE_LEN) v.shape = await decodeShape(st, sub(st, tstop, t.start, 'shape'));
            else await skipField(st, t.wire, tstop, t.start, 'TypeProto.Tensor', t.field);
          }
        } else if (h.field === RawTypeProto.sequenceType || h.field === RawTypeProto.mapType || h.field === RawTypeProto.optionalType || h.field === RawTypeProto.opaqueType) {
          // non-tensor values (sequences, maps, optionals) are listed as objects of unknown shape
          v.dtype = 'object';
          await st.c.skipValue(h.wire, stop, h.start);
        } else if (h.field === RawTypeProto.denotation) await st.c.skipValue(h.wire, stop, h.start);
        else await skipField(st, h.wire, stop, h.start, 'TypeProto', h.field);
      }
    } else if (field === RawValueInfoProto.metadataProps) await st.c.skipValue(wire, end, start);
    else await skipField(st, wire, end, start, 'ValueInfoProto', field);
  }
  return v;
}

// ---------------------------------------------------------------- graphs, nodes, attributes

interface Scope {
  /** origin prefix for tensors outside the main graph ('training:', 'function:d.f:') */
  prefix: string;
}

function newGraph(): Graph {
  return { name: '', nodes: [], inputs: [], outputs: [], initializers: [] };
}

function tooDeep(st: State, offset: number, depth: number): void {
  if (st.tooDeep) return;
  st.tooDeep = true;
  st.findings.push({
    id: 'onnx/too-deep',
    category: 'malformed',
    severity: 'error',
    title: `Subgraphs nest deeper than ${ONNX_MAX_GRAPH_DEPTH} levels`,
    detail: `A graph at byte ${offset} sits ${depth} levels deep. Real models nest a few levels; deeper ones were skipped and not checked.`,
    file: st.file,
    offset,
    evidence: { depth, limit: ONNX_MAX_GRAPH_DEPTH },
  });
}

async function decodeGraph(st: State, end: number, depth: number, g: Graph, scope: Scope, layout?: OnnxFieldSpan[]): Promise<void> {
  const c = st.c;
  while (c.pos < end) {
    const { field, wire, start } = await head(st, end);
    // payload start: after the length prefix of a LEN field
    const dataStart = c.pos + (wire === WIRE_LEN ? c.peekVarintSize() : 0);
    if (wire === WIRE_LEN) {
      switch (field) {
        case G.node: {
          const stop = sub(st, end, start, 'node');
          g.nodes.push(await decodeNode(st, stop, depth, start, scope));
          break;
        }
        case G.name:
          g.name = await readString(st, end, start, 'graph name');
          break;
        case G.initializer: {
          const t = await decodeTensor(st, sub(st, end, start, 'initializer'));
          g.initializers.push(addTensor(st, t, t.info.name, `${scope.prefix}initializer`).name);
          break;
        }
        case G.sparseInitializer: {
          const s = await decodeSparse(st, sub(st, end, start, 'sparse_initializer'));
          const info = addSparse(st, s, `sparse_initializer@${start}`, `${scope.prefix}sparse-initializer`);
          if (info) g.initializers.push(info.name);
          break;
        }
        case G.input:
        case G.output: {
          const list = field === G.input ? g.inputs : g.outputs;
          if (list.length >= ONNX_MAX_NODE_FIELDS) fail(st, 'too-large', start, `graph lists more than ${ONNX_MAX_NODE_FIELDS} ${field === G.input ? 'inputs' : 'outputs'}`);
          list.push(await decodeValueInfo(st, sub(st, end, start, 'value_info')));
          break;
        }
        case G.docString:
        case G.valueInfo:
        case G.quantizationAnnotation:
        case G.metadataProps:
          await c.skipValue(wire, end, start);
          break;
        default:
          await skipField(st, wire, end, start, 'GraphProto', field);
      }
    } else await skipField(st, wire, end, start, 'GraphProto', field);
    layout?.push({ field, wire, start, dataStart, end: c.pos });
  }
}

interface RawAttr {
  name: string;
  type: number;
  start: number;
  refAttrName?: string;
  f?: number;
  fOffset?: number;
  i?: number | string;
  iOffset?: number;
  s?: string;
  t?: DecodedTensor;
  g?: Graph;
  sparse?: DecodedSparse;
  floats: number[];
  floatsCount: number;
  floatsSpan?: { offset: number; length: number; packed: boolean };
  ints: (number | string)[];
  intsCount: number;
  intsSpan?: { offset: number; length: number };
  strings: string[];
  stringsCount: number;
  tensors: DecodedTensor[];
  graphs: Graph[];
  sparseTensors: DecodedSparse[];
}

async function decodeAttribute(st: State, end: number, depth: number, attrStart: number, scope: Scope): Promise<RawAttr> {
  const c = st.c;
  const a: RawAttr = { name: '', type: 0, start: attrStart, floats: [], floatsCount: 0, ints: [], intsCount: 0, strings: [], stringsCount: 0, tensors: [], graphs: [], sparseTensors: [] };
  const subgraph = async (start: number, into?: Graph): Promise<Graph | null> => {
    const stop = sub(st, end, start, 'subgraph');
    if (depth + 1 > ONNX_MAX_GRAPH_DEPTH) {
      tooDeep(st, start, depth + 1);
      await c.skip(stop - c.pos, stop);
      return null;
    }
    const g = into ?? newGraph();
    await decodeGraph(st, stop, depth + 1, g, scope);
    return g;
  };
  while (c.pos < end) {
    const { field, wire, start } = await head(st, end);
    switch (field) {
      case A.name:
        if (wire !== WIRE_LEN) break;
        a.name = await readString(st, end, start, 'attribute name');
        continue;
      case A.refAttrName:
        if (wire !== WIRE_LEN) break;
        a.refAttrName = await readString(st, end, start, 'ref_attr_name');
        continue;
      case A.type:
        if (wire !== WIRE_VARINT) break;
        a.type = c.int32(end);
        continue;
      case A.f:
        if (wire !== WIRE_I32) break;
        a.fOffset = c.pos;
        a.f = new DataView(c.fixed32(end).slice().buffer).getFloat32(0, true);
        continue;
      case A.i:
        if (wire !== WIRE_VARINT) break;
        a.iOffset = c.pos;
        a.i = c.int64(end);
        continue;
      case A.s:
        if (wire !== WIRE_LEN) break;
        a.s = await readString(st, end, start, 'attribute string');
        continue;
      case A.t:
        if (wire !== WIRE_LEN) break;
        a.t = await decodeTensor(st, sub(st, end, start, 'attribute tensor'));
        if (a.tensors.length < ONNX_MAX_ATTR_VALUES) a.tensors.push(a.t);
        continue;
      case A.g:
        if (wire !== WIRE_LEN) break;
        // protobuf merges a repeated singular message field: a second `g` extends the first
        a.g = (await subgraph(start, a.g)) ?? a.g;
        continue;
      case A.sparseTensor:
        if (wire !== WIRE_LEN) break;
        a.sparse = await decodeSparse(st, sub(st, end, start, 'attribute sparse tensor'));
        continue;
      case A.floats:
        if (wire === WIRE_LEN) {
          const n = c.len(end, 'floats', start);
          if (n % 4 !== 0) fail(st, 'bad-length', start, `packed floats at byte ${start} are ${n} bytes, not a multiple of 4`);
          a.floatsSpan = a.floatsCount === 0 ? { offset: c.pos, length: n, packed: true } : undefined;
          a.floatsCount += n / 4;
          if (a.floats.length + n / 4 <= ONNX_MAX_ATTR_VALUES) {
            const b = (await c.bytes(n, end, 'floats')).slice();
            const dv = new DataView(b.buffer);
            for (let k = 0; k < n; k += 4) a.floats.push(dv.getFloat32(k, true));
          } else await c.skip(n, end, 'floats');
          continue;
        }
        if (wire === WIRE_I32) {
          const at = c.pos;
          const v = new DataView(c.fixed32(end).slice().buffer).getFloat32(0, true);
          if (a.floatsCount === 0) a.floatsSpan = { offset: at, length: 4, packed: false };
          else if (a.floatsSpan) a.floatsSpan.length = c.pos - a.floatsSpan.offset;
          a.floatsCount++;
          if (a.floats.length < ONNX_MAX_ATTR_VALUES) a.floats.push(v);
          continue;
        }
        break;
      case A.ints:
        if (wire === WIRE_LEN) {
          const stop = sub(st, end, start, 'ints');
          if (a.intsCount === 0) a.intsSpan = { offset: c.pos, length: stop - c.pos };
          while (c.pos < stop) {
            if (!c.has(Math.min(10, stop - c.pos))) await c.fill(Math.min(10, stop - c.pos), stop, 'packed ints');
            const v = c.int64(stop);
            a.intsCount++;
            if (a.ints.length < ONNX_MAX_ATTR_VALUES) a.ints.push(v);
          }
          continue;
        }
        if (wire === WIRE_VARINT) {
          const at = c.pos;
          const v = c.int64(end);
          if (a.intsCount === 0) a.intsSpan = { offset: at, length: c.pos - at };
          else if (a.intsSpan) a.intsSpan.length = c.pos - a.intsSpan.offset;
          a.intsCount++;
          if (a.ints.length < ONNX_MAX_ATTR_VALUES) a.ints.push(v);
          continue;
        }
        break;
      case A.strings:
        if (wire !== WIRE_LEN) break;
        a.stringsCount++;
        if (a.strings.length < ONNX_MAX_ATTR_VALUES) a.strings.push(await readString(st, end, start, 'attribute strings'));
        else await c.skip(c.len(end, 'strings', start), end);
        continue;
      case A.tensors:
        if (wire !== WIRE_LEN) break;
        {
          const t = await decodeTensor(st, sub(st, end, start, 'attribute tensors'));
          // every tensor is checked for external data even past the listing cap
          if (a.tensors.length < ONNX_MAX_ATTR_VALUES) a.tensors.push(t);
          else addTensor(st, t, t.info.name, 'attribute', false);
        }
        continue;
      case A.graphs:
        if (wire !== WIRE_LEN) break;
        {
          const g = await subgraph(start);
          if (g) a.graphs.push(g);
        }
        continue;
      case A.sparseTensors:
        if (wire !== WIRE_LEN) break;
        a.sparseTensors.push(await decodeSparse(st, sub(st, end, start, 'attribute sparse tensors')));
        continue;
      case A.docString:
      case A.tp:
      case A.typeProtos:
        await c.skipValue(wire, end, start);
        continue;
    }
    await skipField(st, wire, end, start, 'AttributeProto', field);
  }
  return a;
}

function inferType(a: RawAttr): number {
  if (a.type !== AT.UNDEFINED) return a.type;
  // IR < 2 files omit `type`; onnx's checker infers it from the one field that is set
  if (a.g) return AT.GRAPH;
  if (a.t) return AT.TENSOR;
  if (a.sparse) return AT.SPARSE_TENSOR;
  if (a.graphs.length) return AT.GRAPHS;
  if (a.tensors.length) return AT.TENSORS;
  if (a.sparseTensors.length) return AT.SPARSE_TENSORS;
  if (a.floatsCount) return AT.FLOATS;
  if (a.intsCount) return AT.INTS;
  if (a.stringsCount) return AT.STRINGS;
  if (a.s !== undefined) return AT.STRING;
  if (a.f !== undefined) return AT.FLOAT;
  if (a.i !== undefined) return AT.INT;
  return AT.UNDEFINED;
}

/** Inline Constant values (value_float(s) / value_int(s) / value_string(s)) as a TensorInfo. */
function inlineTensor(st: State, a: RawAttr, type: number, name: string, origin: string): TensorInfo | null {
  let t: TensorInfo | null = null;
  const base = { name, file: st.file, origin };
  if (type === AT.FLOAT && a.fOffset !== undefined) t = { ...base, dtype: 'float32', shape: [], numel: 1, offset: a.fOffset, length: 4, encoding: 'raw' };
  else if (type === AT.FLOATS) {
    const s = a.floatsSpan;
    t = { ...base, dtype: 'float32', shape: [a.floatsCount], numel: a.floatsCount, offset: s ? s.offset : -1, length: s ? s.length : 0, encoding: s?.packed ? 'raw' : 'other' };
  } else if (type === AT.INT && a.iOffset !== undefined) t = { ...base, dtype: 'int64', shape: [], numel: 1, offset: a.iOffset, length: 0, encoding: 'other' };
  else if (type === AT.INTS) {
    const s = a.intsSpan;
    t = { ...base, dtype: 'int64', shape: [a.intsCount], numel: a.intsCount, offset: s ? s.offset : -1, length: s ? s.length : 0, encoding: 'other' };
  } else if (type === AT.STRING) t = { ...base, dtype: 'string', shape: [], numel: 1, offset: -1, length: 0, encoding: 'other' };
  else if (type === AT.STRINGS) t = { ...base, dtype: 'string', shape: [a.stringsCount], numel: a.stringsCount, offset: -1, length: 0, encoding: 'other' };
  if (t) {
    if (st.tensors.length >= MAX_TENSORS) fail(st, 'too-many-tensors', a.start, `more than ${MAX_TENSORS} tensors (limit)`);
    st.tensors.push(t);
  }
  return t;
}

/**
 * The node-level value of an attribute; its tensors become TensorInfo entries. Tensors a loader would
 * ignore (a `t` on a GRAPH attribute, an overwritten copy) are still checked for external data.
 */
function attributeValue(st: State, a: RawAttr, node: OpNode, scope: Scope): AttributeValue {
  const value = attributeValueOf(st, a, node, scope);
  const label = node.name || node.outputs[0] || node.opType;
  const origin = `${scope.prefix}attribute:${label}.${a.name}`;
  const decoded = [...(a.t ? [a.t] : []), ...a.tensors, ...[a.sparse, ...a.sparseTensors].flatMap((s) => (s ? [s.values, s.indices] : []))];
  for (const t of decoded) if (t && !st.registered.has(t.info)) addTensor(st, t, t.info.name || `${label}.${a.name}`, origin, false);
  return value;
}

function attributeValueOf(st: State, a: RawAttr, node: OpNode, scope: Scope): AttributeValue {
  const label = node.name || node.outputs[0] || node.opType;
  const isConstant = node.opType === 'Constant' && (node.domain === '' || node.domain === 'ai.onnx');
  const constName = node.outputs[0] || label;
  const origin = isConstant ? `${scope.prefix}constant:${label}` : `${scope.prefix}attribute:${label}.${a.name}`;
  const type = inferType(a);
  if (a.refAttrName !== undefined) return { kind: 'other', value: `@${a.refAttrName}` };
  switch (type) {
    case AT.FLOAT:
      if (isConstant && a.name === 'value_float') inlineTensor(st, a, type, constName, origin);
      return { kind: 'float', value: a.f ?? 0 };
    case AT.INT:
      if (isConstant && a.name === 'value_int') inlineTensor(st, a, type, constName, origin);
      return { kind: 'int', value: a.i ?? 0 };
    case AT.STRING:
      if (isConstant && a.name === 'value_string') inlineTensor(st, a, type, constName, origin);
      return { kind: 'string', value: a.s ?? '' };
    case AT.FLOATS:
      if (isConstant && a.name === 'value_floats') inlineTensor(st, a, type, constName, origin);
      return a.floats.length === a.floatsCount ? { kind: 'floats', value: a.floats } : { kind: 'other', value: `${a.floatsCount} floats` };
    case AT.INTS:
      if (isConstant && a.name === 'value_ints') inlineTensor(st, a, type, constName, origin);
      return a.ints.length === a.intsCount ? { kind: 'ints', value: a.ints } : { kind: 'other', value: `${a.intsCount} ints` };
    case AT.STRINGS:
      if (isConstant && a.name === 'value_strings') inlineTensor(st, a, type, constName, origin);
      return a.strings.length === a.stringsCount ? { kind: 'strings', value: a.strings } : { kind: 'other', value: `${a.stringsCount} strings` };
    case AT.TENSOR: {
      if (!a.t) return { kind: 'other', value: 'tensor (missing)' };
      const name = isConstant ? constName : a.t.info.name || `${label}.${a.name}`;
      return { kind: 'tensor', value: addTensor(st, a.t, name, origin).name };
    }
    case AT.SPARSE_TENSOR: {
      if (!a.sparse) return { kind: 'other', value: 'sparse tensor (missing)' };
      const info = addSparse(st, a.sparse, isConstant ? constName : `${label}.${a.name}`, origin);
      if (info && isConstant) info.name = constName;
      return info ? { kind: 'tensor', value: info.name } : { kind: 'other', value: 'sparse tensor (no values)' };
    }
    case AT.GRAPH:
      if (!a.g) return { kind: 'other', value: 'graph (skipped)' };
      node.subgraphs ??= [];
      node.subgraphs.push(a.g);
      return { kind: 'graph', value: node.subgraphs.length - 1 };
    case AT.GRAPHS: {
      node.subgraphs ??= [];
      const first = node.subgraphs.length;
      node.subgraphs.push(...a.graphs);
      return { kind: 'other', value: `graphs ${first}..${node.subgraphs.length - 1}` };
    }
    case AT.TENSORS: {
      const names = a.tensors.map((t, k) => addTensor(st, t, t.info.name || `${label}.${a.name}[${k}]`, origin).name);
      return { kind: 'other', value: `tensors ${names.slice(0, 16).join(', ')}${names.length > 16 ? ', …' : ''}` };
    }
    case AT.SPARSE_TENSORS: {
      const names = a.sparseTensors.map((s, k) => addSparse(st, s, `${label}.${a.name}[${k}]`, origin)?.name ?? '?');
      return { kind: 'other', value: `sparse tensors ${names.slice(0, 16).join(', ')}` };
    }
    case AT.TYPE_PROTO:
    case AT.TYPE_PROTOS:
      return { kind: 'other', value: 'type' };
    default:
      return { kind: 'other', value: `attribute type ${type}` };
  }
}

async function decodeNode(st: State, end: number, depth: number, nodeStart: number, scope: Scope): Promise<OpNode> {
  const c = st.c;
  if (++st.nodes > ONNX_MAX_NODES) fail(st, 'too-many-nodes', nodeStart, `more than ${ONNX_MAX_NODES} nodes (limit) at byte ${nodeStart}`);
  const node: OpNode = { name: '', opType: '', domain: '', inputs: [], outputs: [], attributes: [] };
  const raws: RawAttr[] = [];
  while (c.pos < end) {
    const { field, wire, start } = await head(st, end);
    if (wire !== WIRE_LEN) {
      await skipField(st, wire, end, start, 'NodeProto', field);
      continue;
    }
    switch (field) {
      case N.input:
      case N.output: {
        const list = field === N.input ? node.inputs : node.outputs;
        if (list.length >= ONNX_MAX_NODE_FIELDS) fail(st, 'too-large', start, `node at byte ${nodeStart} has more than ${ONNX_MAX_NODE_FIELDS} ${field === N.input ? 'inputs' : 'outputs'}`);
        list.push(await readString(st, end, start, 'node input/output'));
        break;
      }
      case N.name:
        node.name = await readString(st, end, start, 'node name');
        break;
      case N.opType:
        node.opType = await readString(st, end, start, 'op_type');
        break;
      case N.domain:
        node.domain = await readString(st, end, start, 'domain');
        break;
      case N.attribute:
        if (raws.length >= ONNX_MAX_NODE_FIELDS) fail(st, 'too-large', start, `node at byte ${nodeStart} has more than ${ONNX_MAX_NODE_FIELDS} attributes`);
        raws.push(await decodeAttribute(st, sub(st, end, start, 'attribute'), depth, start, scope));
        break;
      case N.overload:
      case N.docString:
      case N.metadataProps:
      case N.deviceConfigurations:
        await c.skipValue(wire, end, start);
        break;
      default:
        await skipField(st, wire, end, start, 'NodeProto', field);
    }
  }
  // attributes are named once the node is complete: a Constant's tensor takes the node's output name
  for (const a of raws) node.attributes.push({ name: a.name, value: attributeValue(st, a, node, scope) } satisfies Attribute);
  st.nodeOffsets.set(node, nodeStart);
  return node;
}

async function decodeFunction(st: State, end: number): Promise<OnnxExtra['functions'][number]> {
  const c = st.c;
  const fn: OnnxExtra['functions'][number] = { domain: '', name: '', nodes: [], inputs: [], outputs: [], opsetImports: [] };
  const tensors0 = st.tensors.length;
  const externals0 = st.externals.length;
  const scope: Scope = { prefix: 'function:' };
  while (c.pos < end) {
    const { field, wire, start } = await head(st, end);
    if (wire !== WIRE_LEN) {
      await skipField(st, wire, end, start, 'FunctionProto', field);
      continue;
    }
    switch (field) {
      case F.name:
        fn.name = await readString(st, end, start, 'function name');
        break;
      case F.domain:
        fn.domain = await readString(st, end, start, 'function domain');
        break;
      case F.overload:
        fn.overload = await readString(st, end, start, 'function overload');
        break;
      case F.input:
        fn.inputs.push(await readString(st, end, start, 'function input'));
        break;
      case F.output:
        fn.outputs.push(await readString(st, end, start, 'function output'));
        break;
      case F.opsetImport:
        fn.opsetImports.push(await decodeOpset(st, sub(st, end, start, 'opset_import')));
        break;
      case F.node:
        fn.nodes.push(await decodeNode(st, sub(st, end, start, 'function node'), 1, start, scope));
        break;
      case F.attributeProto: {
        const a = await decodeAttribute(st, sub(st, end, start, 'function attribute'), 1, start, scope);
        // default attribute values can hold tensors: they are part of the model and checked the same way
        attributeValue(st, a, { name: 'default', opType: '', domain: '', inputs: [], outputs: [], attributes: [] }, scope);
        break;
      }
      default:
        await c.skipValue(wire, end, start);
    }
  }
  // name and domain may come after the nodes: tensors met in the body get the function's name once known
  const prefix = `function:${fn.domain}.${fn.name}:`;
  const seen = new Set<TensorInfo>();
  for (const t of [...st.tensors.slice(tensors0), ...st.externals.slice(externals0).map((e) => e.tensor)]) {
    if (seen.has(t)) continue;
    seen.add(t);
    if (t.origin?.startsWith('function:')) t.origin = prefix + t.origin.slice('function:'.length);
  }
  return fn;
}

async function decodeTrainingInfo(st: State, end: number, out: Graph[]): Promise<void> {
  while (st.c.pos < end) {
    const { field, wire, start } = await head(st, end);
    if ((field === RawTrainingInfoProto.initialization || field === RawTrainingInfoProto.algorithm) && wire === WIRE_LEN) {
      const g = newGraph();
      await decodeGraph(st, sub(st, end, start, 'training graph'), 1, g, { prefix: 'training:' });
      out.push(g);
    } else if (field === RawTrainingInfoProto.initializationBinding || field === RawTrainingInfoProto.updateBinding) await st.c.skipValue(wire, end, start);
    else await skipField(st, wire, end, start, 'TrainingInfoProto', field);
  }
}

// ---------------------------------------------------------------- the model

/**
 * Header-only parse of an ONNX ModelProto (onnx/onnx.proto), walked field by field with ranged reads:
 * tensor bytes (raw_data, typed data) are skipped and only their byte ranges kept, so a model of any
 * size, or one whose weights live in external files, opens with bounded memory. Structural damage
 * (a length past its message, a truncated file, a bad varint) is a ParseError; local oddities and the
 * security checks of THREATS.md §3 are findings.
 */
export async function parseOnnx(ctx: ParseContext): Promise<FileParse> {
  const { source } = ctx;
  const file = source.name;
  const st: State = {
    c: new ProtoCursor(source, FORMAT, ONNX_READ_CHUNK, ctx.signal),
    file,
    findings: [],
    tensors: [],
    externals: [],
    nodes: 0,
    stringBytes: 0,
    nodeOffsets: new Map(),
    unknown: new Map(),
    tooDeep: false,
    registered: new WeakSet(),
  };
  const c = st.c;
  const end = source.size;
  const layout: OnnxLayout = { size: end, model: [], graph: null, graphFields: [] };
  const extra: OnnxExtra = { layout, irVersion: null, functions: [], trainingGraphs: [], externalTensors: 0 };
  const model: ModelInfo = { format: 'onnx', files: [file], tensors: st.tensors, metadata: {}, opsetImports: [] };
  let graph: Graph | null = null;
  let graphCount = 0;
  let producerName = '';
  let producerVersion = '';
  while (c.pos < end) {
    const { field, wire, start } = await head(st, end);
    // payload start: after the length prefix of a LEN field
    const dataStart = c.pos + (wire === WIRE_LEN ? c.peekVarintSize() : 0);
    if (field === M.irVersion && wire === WIRE_VARINT) {
      extra.irVersion = c.int64(end);
      model.formatVersion = String(extra.irVersion);
    } else if (field === M.modelVersion && wire === WIRE_VARINT) model.metadata['onnx:model_version'] = String(c.int64(end));
    else if (wire === WIRE_LEN && field === M.producerName) producerName = await readString(st, end, start, 'producer_name');
    else if (wire === WIRE_LEN && field === M.producerVersion) producerVersion = await readString(st, end, start, 'producer_version');
    else if (wire === WIRE_LEN && field === M.domain) model.metadata['onnx:domain'] = await readString(st, end, start, 'domain');
    else if (wire === WIRE_LEN && field === M.docString) model.metadata['onnx:doc_string'] = await readString(st, end, start, 'doc_string');
    else if (wire === WIRE_LEN && field === M.graph) {
      const stop = sub(st, end, start, 'graph');
      graphCount++;
      graph ??= newGraph();
      layout.graphFields = [];
      await decodeGraph(st, stop, 0, graph, { prefix: '' }, layout.graphFields);
      layout.graph = { field, wire, start, dataStart, end: c.pos };
    } else if (wire === WIRE_LEN && field === M.opsetImport) model.opsetImports!.push(await decodeOpset(st, sub(st, end, start, 'opset_import')));
    else if (wire === WIRE_LEN && field === M.metadataProps) {
      const e = await decodeEntry(st, sub(st, end, start, 'metadata_props'));
      model.metadata[e.key] = e.value;
    } else if (wire === WIRE_LEN && field === M.trainingInfo) await decodeTrainingInfo(st, sub(st, end, start, 'training_info'), extra.trainingGraphs);
    else if (wire === WIRE_LEN && field === M.functions) extra.functions.push(await decodeFunction(st, sub(st, end, start, 'function')));
    else if (field === M.configuration) await c.skipValue(wire, end, start);
    else await skipField(st, wire, end, start, 'ModelProto', field);
    layout.model.push({ field, wire, start, dataStart, end: c.pos });
  }
  const producer = `${producerName} ${producerVersion}`.trim();
  if (producer) model.producer = producer;
  if (graph) model.graph = graph;
  else {
    st.findings.push({
      id: 'onnx/no-graph',
      category: 'malformed',
      severity: 'error',
      title: 'The model has no graph',
      detail: 'ModelProto.graph is required (onnx.proto); no runtime can load this file as a model.',
      file,
      offset: 0,
    });
  }
  if (graphCount > 1) {
    st.findings.push({
      id: 'onnx/duplicate-graph',
      category: 'malformed',
      severity: 'warning',
      title: `The graph is split over ${graphCount} fields`,
      detail: `ModelProto.graph appears ${graphCount} times. Protobuf merges them into one graph, so a tool that reads only the first copy misses nodes and tensors that a runtime loads.`,
      file,
      offset: layout.graph?.start,
      evidence: { copies: graphCount },
    });
  }
  if (st.unknown.size) {
    const counts = Object.fromEntries([...st.unknown].slice(0, 50).map(([k, v]) => [k, v.count]));
    st.findings.push({
      id: 'onnx/unknown-fields',
      category: 'malformed',
      severity: 'info',
      title: `${[...st.unknown.values()].reduce((a, u) => a + u.count, 0)} protobuf field(s) unknown to onnx.proto`,
      detail: `Fields that onnx.proto does not define (or with the wrong wire type) were skipped: ${Object.keys(counts).slice(0, 10).join(', ')}. Runtimes skip them too; they can hold data no tool shows.`,
      file,
      offset: [...st.unknown.values()][0].offset,
      evidence: { fields: counts },
    });
  }

  extra.externalTensors = st.externals.length;
  const externalFiles = new Set(st.tensors.filter((t) => t.encoding === 'external' && ctx.folder.get(t.file)).map((t) => t.file));
  model.files.push(...[...externalFiles].filter((f) => f !== file));

  const findings = [...st.findings, ...scanExternalData(st.externals, file, ctx.folder)];
  const graphs = [...(graph ? [graph] : []), ...extra.trainingGraphs];
  findings.push(...scanOnnxDomains({ file, graphs, functions: extra.functions, opsetImports: model.opsetImports!, nodeOffsets: st.nodeOffsets, maxDepth: ONNX_MAX_GRAPH_DEPTH + 1 }));
  if (graph) findings.push(...scanGraphFlow({ file, graph, functions: extra.functions, nodeOffsets: st.nodeOffsets, maxDepth: ONNX_MAX_GRAPH_DEPTH + 1 }));
  return { format: 'onnx', formatVersion: model.formatVersion, model, findings, extra: extra as unknown as Record<string, unknown> };
}

export const onnxHandler: FormatHandler = {
  id: 'onnx',
  label: 'ONNX',
  family: 'onnx',
  sniff: sniffOnnx,
  parse: parseOnnx,
};

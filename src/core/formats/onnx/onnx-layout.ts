import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import type { ByteSource } from '../../io/byte-source';
import { ParseError } from '../../io/errors';
import { ONNX_READ_CHUNK } from '../../io/limits';
import { RawGraphProto, RawModelProto, RawTensorShapeProto, RawTypeProto, RawTypeTensor, RawValueInfoProto, RawDimension } from './onnx-proto';
import { ProtoCursor, WIRE_LEN } from './proto-cursor';

/** Byte range of one protobuf field: tag at `start`, payload [dataStart, end). */
export interface OnnxFieldSpan {
  field: number;
  wire: number;
  start: number;
  dataStart: number;
  end: number;
}

/**
 * Where the top-level fields of a ModelProto lie, and the fields of its (last) `graph` field. Probes use
 * it to append graph outputs to a copy of the model (`appendGraphOutputs`): new GraphProto fields go in
 * at `graph.end` and only the graph's length prefix is rewritten; nothing else is re-encoded.
 */
export interface OnnxLayout {
  /** size of the file the layout was read from */
  size: number;
  model: OnnxFieldSpan[];
  /** the last ModelProto.graph field (protobuf merges repeated message fields, so appends to the last one count) */
  graph: OnnxFieldSpan | null;
  /** fields of that GraphProto, in file order */
  graphFields: OnnxFieldSpan[];
}

/**
 * Reads only the layout: the ModelProto's top-level fields and its graph's fields, each skipped by
 * length (a few ranged reads, whatever the model's size). `parseOnnx` returns the same layout in
 * `extra.layout`; this is for callers that need nothing else.
 */
export async function readOnnxLayout(source: ByteSource, signal?: AbortSignal): Promise<OnnxLayout> {
  const c = new ProtoCursor(source, 'onnx', Math.min(64 * 1024, ONNX_READ_CHUNK), signal);
  const layout: OnnxLayout = { size: source.size, model: [], graph: null, graphFields: [] };
  const walk = async (end: number, out: OnnxFieldSpan[], inner: boolean): Promise<void> => {
    while (c.pos < end) {
      await c.fillHead(end);
      const { field, wire, start } = c.tag(end);
      // payload start: after the length prefix of a LEN field
    const dataStart = c.pos + (wire === WIRE_LEN ? c.peekVarintSize() : 0);
      if (!inner && field === RawModelProto.graph && wire === WIRE_LEN) {
        const n = c.len(end, 'graph', start);
        layout.graphFields = [];
        await walk(c.pos + n, layout.graphFields, true);
        layout.graph = { field, wire, start, dataStart, end: c.pos };
      } else await c.skipValue(wire, end, start);
      out.push({ field, wire, start, dataStart, end: c.pos });
    }
  };
  await walk(source.size, layout.model, false);
  return layout;
}

/** A graph output to append: a name and, optionally, its element type (TensorProto.DataType) and dims. */
export interface GraphOutputSpec {
  name: string;
  elemType?: number;
  /** numbers are dim_value, strings dim_param; omit for an unknown rank */
  dims?: (number | string)[];
}

/** The bytes of one `GraphProto.output` field (tag 12 + ValueInfoProto), encoded with @bufbuild/protobuf. */
export function encodeGraphOutput(spec: GraphOutputSpec): Uint8Array {
  const w = new BinaryWriter();
  w.tag(RawGraphProto.output, WireType.LengthDelimited).fork();
  w.tag(RawValueInfoProto.name, WireType.LengthDelimited).string(spec.name);
  if (spec.elemType !== undefined) {
    w.tag(RawValueInfoProto.type, WireType.LengthDelimited).fork();
    w.tag(RawTypeProto.tensorType, WireType.LengthDelimited).fork();
    w.tag(RawTypeTensor.elemType, WireType.Varint).int32(spec.elemType);
    if (spec.dims) {
      w.tag(RawTypeTensor.shape, WireType.LengthDelimited).fork();
      for (const d of spec.dims) {
        w.tag(RawTensorShapeProto.dim, WireType.LengthDelimited).fork();
        if (typeof d === 'number') w.tag(RawDimension.dimValue, WireType.Varint).int64(d);
        else w.tag(RawDimension.dimParam, WireType.LengthDelimited).string(d);
        w.join();
      }
      w.join();
    }
    w.join().join();
  }
  w.join();
  return w.finish();
}

/**
 * A copy of `model` whose main graph has `outputs` appended (to read intermediate values in a probe).
 * `layout` must describe these very bytes (same size). Throws ParseError when the model has no graph.
 */
export function appendGraphOutputs(model: Uint8Array, layout: OnnxLayout, outputs: readonly GraphOutputSpec[]): Uint8Array {
  const g = layout.graph;
  if (!g) throw new ParseError('onnx', 'no-graph', 0, 'the model has no graph to append outputs to');
  if (model.length !== layout.size) throw new RangeError(`layout describes ${layout.size} bytes but the model has ${model.length}`);
  const extra = outputs.map(encodeGraphOutput);
  const added = extra.reduce((a, b) => a + b.length, 0);
  const payload = g.end - g.dataStart + added;
  if (payload > 0x7fffffff) throw new RangeError(`graph of ${payload} bytes exceeds protobuf's 2 GiB message limit`);
  const w = new BinaryWriter();
  w.raw(model.subarray(0, g.start));
  w.tag(RawModelProto.graph, WireType.LengthDelimited).uint32(payload);
  w.raw(model.subarray(g.dataStart, g.end));
  for (const e of extra) w.raw(e);
  w.raw(model.subarray(g.end));
  return w.finish();
}

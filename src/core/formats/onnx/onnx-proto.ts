import type { DType } from '../../model/dtype';

/**
 * Field numbers of onnx/onnx.proto (IR version 11, onnx 1.18). Only the fields Tamperscope reads are
 * named; every other field is skipped by wire type, so newer files still open.
 */
export const RawModelProto = {
  irVersion: 1,
  producerName: 2,
  producerVersion: 3,
  domain: 4,
  modelVersion: 5,
  docString: 6,
  graph: 7,
  opsetImport: 8,
  metadataProps: 14,
  trainingInfo: 20,
  functions: 25,
  configuration: 26,
} as const;

export const RawGraphProto = {
  node: 1,
  name: 2,
  initializer: 5,
  docString: 10,
  input: 11,
  output: 12,
  valueInfo: 13,
  quantizationAnnotation: 14,
  sparseInitializer: 15,
  metadataProps: 16,
} as const;

export const RawNodeProto = {
  input: 1,
  output: 2,
  name: 3,
  opType: 4,
  attribute: 5,
  docString: 6,
  domain: 7,
  overload: 8,
  metadataProps: 9,
  deviceConfigurations: 10,
} as const;

export const RawAttributeProto = {
  name: 1,
  f: 2,
  i: 3,
  s: 4,
  t: 5,
  g: 6,
  floats: 7,
  ints: 8,
  strings: 9,
  tensors: 10,
  graphs: 11,
  docString: 13,
  tp: 14,
  typeProtos: 15,
  type: 20,
  refAttrName: 21,
  sparseTensor: 22,
  sparseTensors: 23,
} as const;

/** AttributeProto.AttributeType */
export const RawAttributeType = {
  UNDEFINED: 0,
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
  SPARSE_TENSOR: 11,
  SPARSE_TENSORS: 12,
  TYPE_PROTO: 13,
  TYPE_PROTOS: 14,
} as const;

export const RawTensorProto = {
  dims: 1,
  dataType: 2,
  segment: 3,
  floatData: 4,
  int32Data: 5,
  stringData: 6,
  int64Data: 7,
  name: 8,
  rawData: 9,
  doubleData: 10,
  uint64Data: 11,
  docString: 12,
  externalData: 13,
  dataLocation: 14,
  metadataProps: 16,
} as const;

/** TensorProto.DataLocation */
export const DATA_LOCATION_EXTERNAL = 1;

export const RawSparseTensorProto = { values: 1, indices: 2, dims: 3 } as const;
export const RawValueInfoProto = { name: 1, type: 2, docString: 3, metadataProps: 4 } as const;
/** TypeProto oneof value: tensor_type 1, sequence_type 4, map_type 5, opaque_type 7, sparse_tensor_type 8, optional_type 9 */
export const RawTypeProto = { tensorType: 1, sequenceType: 4, mapType: 5, denotation: 6, opaqueType: 7, sparseTensorType: 8, optionalType: 9 } as const;
/** TypeProto.Tensor and TypeProto.SparseTensor share the layout */
export const RawTypeTensor = { elemType: 1, shape: 2 } as const;
export const RawTensorShapeProto = { dim: 1 } as const;
export const RawDimension = { dimValue: 1, dimParam: 2, denotation: 3 } as const;
export const RawOperatorSetId = { domain: 1, version: 2 } as const;
export const RawStringStringEntry = { key: 1, value: 2 } as const;
export const RawTrainingInfoProto = { initialization: 1, initializationBinding: 2, algorithm: 3, updateBinding: 4 } as const;

export const RawFunctionProto = {
  name: 1,
  input: 4,
  output: 5,
  attribute: 6,
  node: 7,
  docString: 8,
  opsetImport: 9,
  domain: 10,
  attributeProto: 11,
  valueInfo: 12,
  overload: 13,
  metadataProps: 14,
} as const;

/** TensorProto.DataType → our dtype names (src/core/model/dtype.ts). INT2/UINT2 (IR 11) have no name there. */
export const ONNX_DTYPES: Readonly<Record<number, DType>> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  14: 'complex64',
  15: 'complex128',
  16: 'bfloat16',
  17: 'float8_e4m3fn',
  18: 'float8_e4m3fnuz',
  19: 'float8_e5m2',
  20: 'float8_e5m2fnuz',
  21: 'uint4',
  22: 'int4',
  23: 'float4_e2m1',
  24: 'float8_e8m0',
};

export function onnxDType(code: number): DType {
  return ONNX_DTYPES[code] ?? 'unknown';
}

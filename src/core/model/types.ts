import type { DType } from './dtype';

/** Identifiers of the formats the registry knows. */
export type FormatId =
  | 'safetensors' | 'safetensors-index' | 'onnx' | 'pytorch-zip' | 'pytorch-legacy' | 'torchscript'
  | 'pickle' | 'npy' | 'npz' | 'gguf' | 'keras' | 'hdf5' | 'zip' | 'json' | 'tar' | 'gzip' | '7z'
  | 'xz' | 'zlib' | 'bzip2' | 'text' | 'hf-config' | 'sentencepiece' | 'unknown';

/**
 * One tensor, described by where its bytes are, never by the bytes themselves. Plain data: it is
 * structured-cloned across workers and stored in IndexedDB unchanged.
 */
export interface TensorInfo {
  name: string;
  dtype: DType;
  /** dims in the format's order (row-major for every format here except GGUF, whose ne[] is reversed on read) */
  shape: number[];
  /** product of dims */
  numel: number;
  /** file (path relative to the model folder) that holds the bytes */
  file: string;
  /** absolute byte offset of the first element in `file`, or -1 when the bytes are not addressable */
  offset: number;
  /** bytes occupied in `file` */
  length: number;
  /** PyTorch views: element strides and the offset into the storage, in elements */
  stride?: number[];
  storageOffset?: number;
  /** where in the model the tensor lives: an initializer, a Constant node, a zip member... */
  origin?: string;
  /** bytes are compressed or otherwise not plain little-endian elements at `offset` */
  encoding?: 'raw' | 'deflate' | 'external' | 'other';
  /**
   * a deflate-encoded tensor in a zip (an npz from savez_compressed, a .keras written deflated): the member
   * that holds it and the offset of its first byte in the member's inflated content
   */
  member?: { name: string; offset: number };
  /** optional human hint about the tensor's role (e.g. Conv weight, LayerNorm scale) */
  role?: string;
}

export interface Dim {
  /** fixed size, or null for a symbolic/unknown dim */
  value: number | null;
  param?: string;
}

export interface ValueInfo {
  name: string;
  dtype: DType;
  /** null when the rank itself is unknown */
  shape: Dim[] | null;
  doc?: string;
}

export type AttributeValue =
  | { kind: 'float'; value: number }
  | { kind: 'int'; value: number | string }
  | { kind: 'string'; value: string }
  | { kind: 'floats'; value: number[] }
  | { kind: 'ints'; value: (number | string)[] }
  | { kind: 'strings'; value: string[] }
  | { kind: 'tensor'; value: string /* name of a TensorInfo */ }
  | { kind: 'graph'; value: number /* index into OpNode.subgraphs */ }
  | { kind: 'other'; value: string };

export interface Attribute {
  name: string;
  value: AttributeValue;
}

export interface OpNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Attribute[];
  /** bodies of If / Loop / Scan and friends, at any depth */
  subgraphs?: Graph[];
}

export interface Graph {
  name: string;
  nodes: OpNode[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  /** names of TensorInfo entries that are this graph's initializers */
  initializers: string[];
}

export interface OpsetImport {
  domain: string;
  version: number;
}

/**
 * Everything that analyses read about a model, merged over all of its files. Plain data.
 */
export interface ModelInfo {
  format: FormatId;
  formatVersion?: string;
  /** files (relative paths) the model was read from */
  files: string[];
  tensors: TensorInfo[];
  graph?: Graph;
  opsetImports?: OpsetImport[];
  producer?: string;
  /** string metadata: safetensors `__metadata__`, ONNX metadata_props, GGUF KV pairs (stringified), ... */
  metadata: Record<string, string>;
}

export function emptyModel(format: FormatId, files: string[]): ModelInfo {
  return { format, files, tensors: [], metadata: {} };
}

/**
 * The one dtype table every format maps into. Names are lower-case and follow PyTorch/NumPy spelling;
 * GGUF block quantisations keep ggml's names. `bits` is the storage cost per element for plain types;
 * block types give the block's element count and byte size instead (ggml-common.h).
 */
export type DType =
  | 'float64' | 'float32' | 'float16' | 'bfloat16' | 'float8_e4m3fn' | 'float8_e5m2'
  | 'float8_e4m3fnuz' | 'float8_e5m2fnuz' | 'float8_e8m0' | 'float6_e2m3' | 'float6_e3m2' | 'float4_e2m1'
  | 'int64' | 'int32' | 'int16' | 'int8' | 'uint64' | 'uint32' | 'uint16' | 'uint8'
  | 'int4' | 'uint4' | 'bool' | 'complex64' | 'complex128'
  | 'q4_0' | 'q4_1' | 'q5_0' | 'q5_1' | 'q8_0' | 'q8_1'
  | 'q2_k' | 'q3_k' | 'q4_k' | 'q5_k' | 'q6_k' | 'q8_k'
  | 'iq2_xxs' | 'iq2_xs' | 'iq3_xxs' | 'iq1_s' | 'iq4_nl' | 'iq3_s' | 'iq2_s' | 'iq4_xs' | 'iq1_m'
  | 'tq1_0' | 'tq2_0' | 'mxfp4'
  | 'string' | 'object' | 'unknown';

export interface DTypeInfo {
  /** bits per element for plain types; 0 for block-quantised, string, object, unknown */
  bits: number;
  /** elements per block and bytes per block for block-quantised types */
  blockSize?: number;
  blockBytes?: number;
  kind: 'float' | 'int' | 'uint' | 'bool' | 'complex' | 'quant' | 'other';
}

const QK_K = 256;

export const DTYPES: Readonly<Record<DType, DTypeInfo>> = {
  float64: { bits: 64, kind: 'float' },
  float32: { bits: 32, kind: 'float' },
  float16: { bits: 16, kind: 'float' },
  bfloat16: { bits: 16, kind: 'float' },
  float8_e4m3fn: { bits: 8, kind: 'float' },
  float8_e5m2: { bits: 8, kind: 'float' },
  float8_e4m3fnuz: { bits: 8, kind: 'float' },
  float8_e5m2fnuz: { bits: 8, kind: 'float' },
  float8_e8m0: { bits: 8, kind: 'float' },
  float6_e2m3: { bits: 6, kind: 'float' },
  float6_e3m2: { bits: 6, kind: 'float' },
  float4_e2m1: { bits: 4, kind: 'float' },
  int64: { bits: 64, kind: 'int' },
  int32: { bits: 32, kind: 'int' },
  int16: { bits: 16, kind: 'int' },
  int8: { bits: 8, kind: 'int' },
  uint64: { bits: 64, kind: 'uint' },
  uint32: { bits: 32, kind: 'uint' },
  uint16: { bits: 16, kind: 'uint' },
  uint8: { bits: 8, kind: 'uint' },
  int4: { bits: 4, kind: 'int' },
  uint4: { bits: 4, kind: 'uint' },
  bool: { bits: 8, kind: 'bool' },
  complex64: { bits: 64, kind: 'complex' },
  complex128: { bits: 128, kind: 'complex' },
  // ggml block layouts (ggml-common.h): elements per block, bytes per block
  q4_0: { bits: 0, blockSize: 32, blockBytes: 18, kind: 'quant' },
  q4_1: { bits: 0, blockSize: 32, blockBytes: 20, kind: 'quant' },
  q5_0: { bits: 0, blockSize: 32, blockBytes: 22, kind: 'quant' },
  q5_1: { bits: 0, blockSize: 32, blockBytes: 24, kind: 'quant' },
  q8_0: { bits: 0, blockSize: 32, blockBytes: 34, kind: 'quant' },
  q8_1: { bits: 0, blockSize: 32, blockBytes: 36, kind: 'quant' },
  q2_k: { bits: 0, blockSize: QK_K, blockBytes: 84, kind: 'quant' },
  q3_k: { bits: 0, blockSize: QK_K, blockBytes: 110, kind: 'quant' },
  q4_k: { bits: 0, blockSize: QK_K, blockBytes: 144, kind: 'quant' },
  q5_k: { bits: 0, blockSize: QK_K, blockBytes: 176, kind: 'quant' },
  q6_k: { bits: 0, blockSize: QK_K, blockBytes: 210, kind: 'quant' },
  q8_k: { bits: 0, blockSize: QK_K, blockBytes: 292, kind: 'quant' },
  iq2_xxs: { bits: 0, blockSize: QK_K, blockBytes: 66, kind: 'quant' },
  iq2_xs: { bits: 0, blockSize: QK_K, blockBytes: 74, kind: 'quant' },
  iq3_xxs: { bits: 0, blockSize: QK_K, blockBytes: 98, kind: 'quant' },
  iq1_s: { bits: 0, blockSize: QK_K, blockBytes: 50, kind: 'quant' },
  iq4_nl: { bits: 0, blockSize: 32, blockBytes: 18, kind: 'quant' },
  iq3_s: { bits: 0, blockSize: QK_K, blockBytes: 110, kind: 'quant' },
  iq2_s: { bits: 0, blockSize: QK_K, blockBytes: 82, kind: 'quant' },
  iq4_xs: { bits: 0, blockSize: QK_K, blockBytes: 136, kind: 'quant' },
  iq1_m: { bits: 0, blockSize: QK_K, blockBytes: 56, kind: 'quant' },
  tq1_0: { bits: 0, blockSize: QK_K, blockBytes: 54, kind: 'quant' },
  tq2_0: { bits: 0, blockSize: QK_K, blockBytes: 66, kind: 'quant' },
  mxfp4: { bits: 0, blockSize: 32, blockBytes: 17, kind: 'quant' },
  string: { bits: 0, kind: 'other' },
  object: { bits: 0, kind: 'other' },
  unknown: { bits: 0, kind: 'other' },
};

export function isDType(name: string): name is DType {
  return Object.prototype.hasOwnProperty.call(DTYPES, name);
}

/**
 * Bytes needed to store `numel` elements of `dtype`, or null when the dtype has no fixed size
 * (strings, objects) or when `numel` is not a whole number of blocks.
 */
export function byteSizeOf(dtype: DType, numel: number): number | null {
  const info = DTYPES[dtype];
  if (info.blockSize && info.blockBytes) {
    if (numel % info.blockSize !== 0) return null;
    return (numel / info.blockSize) * info.blockBytes;
  }
  if (info.bits === 0) return null;
  return Math.ceil((numel * info.bits) / 8);
}

/**
 * Product of the dims, or null when it is not an exact integer below 2^53 (a shape such as
 * [2^40, 2^40] must not silently turn into a float).
 */
export function numelOf(shape: readonly number[]): number | null {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) return null;
    n *= d;
    if (!Number.isSafeInteger(n)) return null;
  }
  return n;
}

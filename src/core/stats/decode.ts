import { DTYPES, type DType } from '../model/dtype';

/**
 * Decoders from stored tensor bytes (little-endian, as every format here stores them) to float32
 * values, one "unit" at a time: a unit is one element for plain types, one byte (two elements) for
 * packed 4-bit types, and one block for ggml block quantisations (ggml-common.h / ggml-quants.c
 * `dequantize_row_*`). Streaming callers hand over any number of bytes and keep the partial unit at the
 * end for the next chunk; `decode` never reads past `bytes` and never allocates per element.
 *
 * Everything is decoded to float32: statistics and signatures are computed in float32 precision.
 * float64/int64/uint64 are rounded to the nearest float32 (magnitudes beyond 3.4e38 become ±Infinity and
 * float64 subnormals become ±0; model weights essentially never sit there).
 */
export interface Decoder {
  dtype: DType;
  /** bytes of one decoding unit */
  unitBytes: number;
  /** elements in one decoding unit */
  unitElements: number;
  /**
   * Decodes `units` whole units from `bytes` (starting at index 0) into `out` from index `at`.
   * Requires bytes.length ≥ units × unitBytes and out.length ≥ at + units × unitElements.
   */
  decode(bytes: Uint8Array, units: number, out: Float32Array, at: number): void;
}

/** True on every platform JS runs on today; typed-array views are then the file's byte order. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

// ---------- scalar conversions ----------

let F16_TABLE: Float32Array | null = null;

/** IEEE 754 binary16 → float32 for all 65536 bit patterns (built once, 256 KiB). */
export function float16Table(): Float32Array {
  if (F16_TABLE) return F16_TABLE;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) t[h] = halfToFloat(h);
  F16_TABLE = t;
  return t;
}

export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24; // subnormal: m/1024 · 2^-14
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/**
 * The 8-bit float formats (OCP "OFP8" spec v1.0 for e4m3fn/e5m2; the "fnuz" variants of Graphcore/AMD as
 * implemented by ml_dtypes and ONNX: exponent bias one higher, no infinities, no negative zero, 0x80 = NaN).
 */
function fp8Table(expBits: number, manBits: number, bias: number, variant: 'ieee' | 'fn' | 'fnuz'): Float32Array {
  const t = new Float32Array(256);
  const expMax = (1 << expBits) - 1;
  const manMax = (1 << manBits) - 1;
  for (let b = 0; b < 256; b++) {
    const sign = b & 0x80 ? -1 : 1;
    const e = (b >> manBits) & expMax;
    const m = b & manMax;
    let v: number;
    if (variant === 'fnuz' && b === 0x80) v = NaN;
    else if (variant === 'ieee' && e === expMax) v = m ? NaN : sign * Infinity;
    else if (variant === 'fn' && e === expMax && m === manMax) v = NaN; // e4m3fn: only S.1111.111 is NaN
    else if (e === 0) v = sign * (m / (1 << manBits)) * 2 ** (1 - bias);
    else v = sign * (1 + m / (1 << manBits)) * 2 ** (e - bias);
    t[b] = v;
  }
  return t;
}

const FP8_TABLES: Partial<Record<DType, () => Float32Array>> = {
  float8_e4m3fn: () => fp8Table(4, 3, 7, 'fn'),
  float8_e5m2: () => fp8Table(5, 2, 15, 'ieee'),
  float8_e4m3fnuz: () => fp8Table(4, 3, 8, 'fnuz'),
  float8_e5m2fnuz: () => fp8Table(5, 2, 16, 'fnuz'),
  // OCP MX E8M0 scale: 2^(e-127), 0xFF = NaN, no sign, no zero
  float8_e8m0: () => {
    const t = new Float32Array(256);
    for (let b = 0; b < 256; b++) t[b] = b === 255 ? NaN : 2 ** (b - 127);
    return t;
  },
};

// ---------- plain types ----------

/** A decoder that reads `size`-byte little-endian elements through a DataView (unaligned-safe). */
function viewDecoder(dtype: DType, size: number, get: (v: DataView, at: number) => number): Decoder {
  return {
    dtype,
    unitBytes: size,
    unitElements: 1,
    decode(bytes, units, out, at) {
      const v = new DataView(bytes.buffer, bytes.byteOffset, units * size);
      for (let i = 0; i < units; i++) out[at + i] = get(v, i * size);
    },
  };
}

/** Typed-array decoder used when the bytes are aligned (the common case); falls back to DataView. */
function typedDecoder(dtype: DType, size: number, Ctor: Float32ArrayConstructor | Int32ArrayConstructor | Uint32ArrayConstructor | Int16ArrayConstructor | Uint16ArrayConstructor | Float64ArrayConstructor, get: (v: DataView, at: number) => number): Decoder {
  const slow = viewDecoder(dtype, size, get);
  return {
    dtype,
    unitBytes: size,
    unitElements: 1,
    decode(bytes, units, out, at) {
      if (!LITTLE_ENDIAN || bytes.byteOffset % size !== 0) return slow.decode(bytes, units, out, at);
      out.set(new Ctor(bytes.buffer as ArrayBuffer, bytes.byteOffset, units), at);
    },
  };
}

function tableDecoder16(dtype: DType, table: () => Float32Array): Decoder {
  return {
    dtype,
    unitBytes: 2,
    unitElements: 1,
    decode(bytes, units, out, at) {
      const t = table();
      if (LITTLE_ENDIAN && bytes.byteOffset % 2 === 0) {
        const h = new Uint16Array(bytes.buffer, bytes.byteOffset, units);
        for (let i = 0; i < units; i++) out[at + i] = t[h[i]];
        return;
      }
      for (let i = 0, j = 0; i < units; i++, j += 2) out[at + i] = t[bytes[j] | (bytes[j + 1] << 8)];
    },
  };
}

const bf16Decoder: Decoder = {
  dtype: 'bfloat16',
  unitBytes: 2,
  unitElements: 1,
  // bfloat16 is the top half of a float32: widen by shifting the bits into place.
  decode(bytes, units, out, at) {
    const u = new Uint32Array(out.buffer, out.byteOffset + at * 4, units);
    if (LITTLE_ENDIAN && bytes.byteOffset % 2 === 0) {
      // aligned (the common case): one 16-bit load per element
      const h = new Uint16Array(bytes.buffer, bytes.byteOffset, units);
      for (let i = 0; i < units; i++) u[i] = h[i] << 16;
      return;
    }
    for (let i = 0, j = 0; i < units; i++, j += 2) u[i] = ((bytes[j] | (bytes[j + 1] << 8)) << 16) >>> 0;
  },
};

function byteTableDecoder(dtype: DType, table: () => Float32Array): Decoder {
  let t: Float32Array | null = null;
  return {
    dtype,
    unitBytes: 1,
    unitElements: 1,
    decode(bytes, units, out, at) {
      t ??= table();
      for (let i = 0; i < units; i++) out[at + i] = t[bytes[i]];
    },
  };
}

/** int4/uint4 (ONNX INT4/UINT4): two elements per byte, the first in the low nibble. */
function nibbleDecoder(dtype: DType, signed: boolean): Decoder {
  return {
    dtype,
    unitBytes: 1,
    unitElements: 2,
    decode(bytes, units, out, at) {
      for (let i = 0; i < units; i++) {
        const b = bytes[i];
        let lo = b & 0xf;
        let hi = b >> 4;
        if (signed) {
          lo = (lo << 28) >> 28;
          hi = (hi << 28) >> 28;
        }
        out[at + 2 * i] = lo;
        out[at + 2 * i + 1] = hi;
      }
    },
  };
}

// ---------- ggml block quantisations (ggml-common.h structs, ggml-quants.c dequantize_row_*) ----------

const QK = 32;
const QK_K = 256;

function f16At(b: Uint8Array, i: number): number {
  return float16Table()[b[i] | (b[i + 1] << 8)];
}

function blockDecoder(dtype: DType, fn: (b: Uint8Array, base: number, out: Float32Array, at: number) => void): Decoder {
  const info = DTYPES[dtype];
  const unitBytes = info.blockBytes!;
  const unitElements = info.blockSize!;
  return {
    dtype,
    unitBytes,
    unitElements,
    decode(bytes, units, out, at) {
      for (let u = 0; u < units; u++) fn(bytes, u * unitBytes, out, at + u * unitElements);
    },
  };
}

/** block_q4_0 { half d; u8 qs[16] }: y[j] = d·((qs[j]&15)−8), y[j+16] = d·((qs[j]>>4)−8). */
function q4_0(b: Uint8Array, o: number, y: Float32Array, at: number): void {
  const d = f16At(b, o);
  for (let j = 0; j < QK / 2; j++) {
    const q = b[o + 2 + j];
    y[at + j] = ((q & 0xf) - 8) * d;
    y[at + j + QK / 2] = ((q >> 4) - 8) * d;
  }
}

/** block_q4_1 { half d; half m; u8 qs[16] }: y = d·q + m. */
function q4_1(b: Uint8Array, o: number, y: Float32Array, at: number): void {
  const d = f16At(b, o);
  const m = f16At(b, o + 2);
  for (let j = 0; j < QK / 2; j++) {
    const q = b[o + 4 + j];
    y[at + j] = (q & 0xf) * d + m;
    y[at + j + QK / 2] = (q >> 4) * d + m;
  }
}

function u32At(b: Uint8Array, i: number): number {
  return (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
}

/** block_q5_0 { half d; u8 qh[4]; u8 qs[16] }: 5th bit of element j in qh bit j (j+16 in bit j+16), minus 16. */
function q5_0(b: Uint8Array, o: number, y: Float32Array, at: number): void {
  const d = f16At(b, o);
  const qh = u32At(b, o + 2);
  for (let j = 0; j < QK / 2; j++) {
    const xh0 = ((qh >>> j) << 4) & 0x10;
    const xh1 = (qh >>> (j + 12)) & 0x10;
    const q = b[o + 6 + j];
    y[at + j] = (((q & 0xf) | xh0) - 16) * d;
    y[at + j + QK / 2] = (((q >> 4) | xh1) - 16) * d;
  }
}

/** block_q5_1 { half d; half m; u8 qh[4]; u8 qs[16] }: y = d·q + m, q unsigned 5-bit. */
function q5_1(b: Uint8Array, o: number, y: Float32Array, at: number): void {
  const d = f16At(b, o);
  const m = f16At(b, o + 2);
  const qh = u32At(b, o + 4);
  for (let j = 0; j < QK / 2; j++) {
    const xh0 = ((qh >>> j) << 4) & 0x10;
    const xh1 = (qh >>> (j + 12)) & 0x10;
    const q = b[o + 8 + j];
    y[at + j] = ((q & 0xf) | xh0) * d + m;
    y[at + j + QK / 2] = ((q >> 4) | xh1) * d + m;
  }
}

/** block_q8_0 { half d; i8 qs[32] }. */
function q8_0(b: Uint8Array, o: number, y: Float32Array, at: number): void {
  const d = f16At(b, o);
  for (let j = 0; j < QK; j++) y[at + j] = ((b[o + 2 + j] << 24) >> 24) * d;
}

/** block_q8_1 { half d; half s; i8 qs[32] } (s = d·Σq is only a cached sum). */
function q8_1(b: Uint8Array, o: number, y: Float32Array, at: number): void {
  const d = f16At(b, o);
  for (let j = 0; j < QK; j++) y[at + j] = ((b[o + 4 + j] << 24) >> 24) * d;
}

/** block_q2_K { u8 scales[16]; u8 qs[64]; half d; half dmin }: 16 sub-blocks of 16, 4-bit scale and min each. */
function q2_k(b: Uint8Array, o: number, y: Float32Array, at: number): void {
  const d = f16At(b, o + 80);
  const dmin = f16At(b, o + 82);
  let q = o + 16;
  let is = 0;
  let k = at;
  for (let n = 0; n < QK_K; n += 128) {
    let shift = 0;
    for (let j = 0; j < 4; j++) {
      let sc = b[o + is++];
      let dl = d * (sc & 0xf);
      let ml = dmin * (sc >> 4);
      for (let l = 0; l < 16; l++) y[k++] = dl * ((b[q + l] >> shift) & 3) - ml;
      sc = b[o + is++];
      dl = d * (sc & 0xf);
      ml = dmin * (sc >> 4);
      for (let l = 0; l < 16; l++) y[k++] = dl * ((b[q + l + 16] >> shift) & 3) - ml;
      shift += 2;
    }
    q += 32;
  }
}

/** block_q3_K { u8 hmask[32]; u8 qs[64]; u8 scales[12]; half d }: 6-bit signed scales packed in 12 bytes. */
function q3_k(b: Uint8Array, o: number, y: Float32Array, at: number): void {
  const dAll = f16At(b, o + 108);
  const a0 = u32At(b, o + 96);
  const a1 = u32At(b, o + 100);
  const tmp = u32At(b, o + 104);
  const kmask1 = 0x03030303;
  const kmask2 = 0x0f0f0f0f;
  const aux = [
    ((a0 & kmask2) | (((tmp >>> 0) & kmask1) << 4)) >>> 0,
    ((a1 & kmask2) | (((tmp >>> 2) & kmask1) << 4)) >>> 0,
    (((a0 >>> 4) & kmask2) | (((tmp >>> 4) & kmask1) << 4)) >>> 0,
    (((a1 >>> 4) & kmask2) | (((tmp >>> 6) & kmask1) << 4)) >>> 0,
  ];
  const scale = (i: number): number => ((((aux[i >> 2] >>> ((i & 3) * 8)) & 0xff) << 24) >> 24) - 32;
  let q = o + 32;
  let m = 1;
  let is = 0;
  let k = at;
  for (let n = 0; n < QK_K; n += 128) {
    let shift = 0;
    for (let j = 0; j < 4; j++) {
      let dl = dAll * scale(is++);
      for (let l = 0; l < 16; l++) y[k++] = dl * (((b[q + l] >> shift) & 3) - (b[o + l] & m ? 0 : 4));
      dl = dAll * scale(is++);
      for (let l = 0; l < 16; l++) y[k++] = dl * (((b[q + l + 16] >> shift) & 3) - (b[o + l + 16] & m ? 0 : 4));
      shift += 2;
      m <<= 1;
    }
    q += 32;
  }
}

/** get_scale_min_k4: 6-bit scale and min of sub-block j from the 12 packed bytes at s. */
function scaleMinK4(b: Uint8Array, s: number, j: number): [number, number] {
  if (j < 4) return [b[s + j] & 63, b[s + j + 4] & 63];
  return [(b[s + j + 4] & 0xf) | ((b[s + j - 4] >> 6) << 4), (b[s + j + 4] >> 4) | ((b[s + j] >> 6) << 4)];
}

/** block_q4_K { half d; half dmin; u8 scales[12]; u8 qs[128] }: 8 sub-blocks of 32. */
function q4_k(b: Uint8Array, o: number, y: Float32Array, at: number): void {
  const d = f16At(b, o);
  const dmin = f16At(b, o + 2);
  let q = o + 16;
  let is = 0;
  let k = at;
  for (let j = 0; j < QK_K; j += 64) {
    const [sc1, m1] = scaleMinK4(b, o + 4, is);
    const [sc2, m2] = scaleMinK4(b, o + 4, is + 1);
    const d1 = d * sc1, mm1 = dmin * m1, d2 = d * sc2, mm2 = dmin * m2;
    for (let l = 0; l < 32; l++) y[k++] = d1 * (b[q + l] & 0xf) - mm1;
    for (let l = 0; l < 32; l++) y[k++] = d2 * (b[q + l] >> 4) - mm2;
    q += 32;
    is += 2;
  }
}

/** block_q5_K { half d; half dmin; u8 scales[12]; u8 qh[32]; u8 qs[128] }. */
function q5_k(b: Uint8Array, o: number, y: Float32Array, at: number): void {
  const d = f16At(b, o);
  const dmin = f16At(b, o + 2);
  const qh = o + 16;
  let ql = o + 48;
  let is = 0;
  let u1 = 1;
  let u2 = 2;
  let k = at;
  for (let j = 0; j < QK_K; j += 64) {
    const [sc1, m1] = scaleMinK4(b, o + 4, is);
    const [sc2, m2] = scaleMinK4(b, o + 4, is + 1);
    const d1 = d * sc1, mm1 = dmin * m1, d2 = d * sc2, mm2 = dmin * m2;
    for (let l = 0; l < 32; l++) y[k++] = d1 * ((b[ql + l] & 0xf) + (b[qh + l] & u1 ? 16 : 0)) - mm1;
    for (let l = 0; l < 32; l++) y[k++] = d2 * ((b[ql + l] >> 4) + (b[qh + l] & u2 ? 16 : 0)) - mm2;
    ql += 32;
    is += 2;
    u1 <<= 2;
    u2 <<= 2;
  }
}

/** block_q6_K { u8 ql[128]; u8 qh[64]; i8 scales[16]; half d }. */
function q6_k(b: Uint8Array, o: number, y: Float32Array, at: number): void {
  const d = f16At(b, o + 208);
  let ql = o;
  let qh = o + 128;
  let sc = o + 192;
  let k = at;
  const s8 = (i: number) => (b[i] << 24) >> 24;
  for (let n = 0; n < QK_K; n += 128) {
    for (let l = 0; l < 32; l++) {
      const is = l >> 4;
      const q1 = ((b[ql + l] & 0xf) | (((b[qh + l] >> 0) & 3) << 4)) - 32;
      const q2 = ((b[ql + l + 32] & 0xf) | (((b[qh + l] >> 2) & 3) << 4)) - 32;
      const q3 = ((b[ql + l] >> 4) | (((b[qh + l] >> 4) & 3) << 4)) - 32;
      const q4 = ((b[ql + l + 32] >> 4) | (((b[qh + l] >> 6) & 3) << 4)) - 32;
      y[k + l] = d * s8(sc + is) * q1;
      y[k + l + 32] = d * s8(sc + is + 2) * q2;
      y[k + l + 64] = d * s8(sc + is + 4) * q3;
      y[k + l + 96] = d * s8(sc + is + 6) * q4;
    }
    k += 128;
    ql += 64;
    qh += 32;
    sc += 8;
  }
}

/** block_q8_K { float d; i8 qs[256]; i16 bsums[16] } (d is a float32 here, not a half). */
function q8_k(b: Uint8Array, o: number, y: Float32Array, at: number): void {
  const d = new DataView(b.buffer, b.byteOffset + o, 4).getFloat32(0, true);
  for (let j = 0; j < QK_K; j++) y[at + j] = ((b[o + 4 + j] << 24) >> 24) * d;
}

// ---------- registry ----------

const le = true;
const FACTORIES: Partial<Record<DType, () => Decoder>> = {
  float32: () => typedDecoder('float32', 4, Float32Array, (v, a) => v.getFloat32(a, le)),
  float64: () => typedDecoder('float64', 8, Float64Array, (v, a) => v.getFloat64(a, le)),
  float16: () => tableDecoder16('float16', float16Table),
  bfloat16: () => bf16Decoder,
  int32: () => typedDecoder('int32', 4, Int32Array, (v, a) => v.getInt32(a, le)),
  uint32: () => typedDecoder('uint32', 4, Uint32Array, (v, a) => v.getUint32(a, le)),
  int16: () => typedDecoder('int16', 2, Int16Array, (v, a) => v.getInt16(a, le)),
  uint16: () => typedDecoder('uint16', 2, Uint16Array, (v, a) => v.getUint16(a, le)),
  int64: () => viewDecoder('int64', 8, (v, a) => Number(v.getBigInt64(a, le))),
  uint64: () => viewDecoder('uint64', 8, (v, a) => Number(v.getBigUint64(a, le))),
  int8: () => byteTableDecoder('int8', () => Float32Array.from({ length: 256 }, (_, b) => (b << 24) >> 24)),
  uint8: () => byteTableDecoder('uint8', () => Float32Array.from({ length: 256 }, (_, b) => b)),
  // NumPy/PyTorch/safetensors store bool as one byte; any non-zero byte reads as true
  bool: () => byteTableDecoder('bool', () => Float32Array.from({ length: 256 }, (_, b) => (b ? 1 : 0))),
  int4: () => nibbleDecoder('int4', true),
  uint4: () => nibbleDecoder('uint4', false),
  q4_0: () => blockDecoder('q4_0', q4_0),
  q4_1: () => blockDecoder('q4_1', q4_1),
  q5_0: () => blockDecoder('q5_0', q5_0),
  q5_1: () => blockDecoder('q5_1', q5_1),
  q8_0: () => blockDecoder('q8_0', q8_0),
  q8_1: () => blockDecoder('q8_1', q8_1),
  q2_k: () => blockDecoder('q2_k', q2_k),
  q3_k: () => blockDecoder('q3_k', q3_k),
  q4_k: () => blockDecoder('q4_k', q4_k),
  q5_k: () => blockDecoder('q5_k', q5_k),
  q6_k: () => blockDecoder('q6_k', q6_k),
  q8_k: () => blockDecoder('q8_k', q8_k),
};
for (const [dt, table] of Object.entries(FP8_TABLES) as [DType, () => Float32Array][]) FACTORIES[dt] = () => byteTableDecoder(dt, table);

const CACHE = new Map<DType, Decoder>();

/** The decoder for `dtype`, or null when Tamperscope cannot decode it (strings, complex, i-quants, ...). */
export function decoderFor(dtype: DType): Decoder | null {
  const hit = CACHE.get(dtype);
  if (hit) return hit;
  const f = FACTORIES[dtype];
  if (!f) return null;
  const d = f();
  CACHE.set(dtype, d);
  return d;
}

/** dtypes with a decoder. */
export function decodableDTypes(): DType[] {
  return Object.keys(FACTORIES) as DType[];
}

/**
 * Decodes a whole tensor's bytes (already read, bounded by the caller) into float32. Throws a RangeError
 * naming the dtype when it has no decoder or when the bytes are not a whole number of units.
 */
export function decodeTensorBytes(dtype: DType, bytes: Uint8Array): Float32Array {
  const dec = decoderFor(dtype);
  if (!dec) throw new RangeError(`no decoder for dtype ${dtype}`);
  if (bytes.length % dec.unitBytes !== 0) throw new RangeError(`${dtype}: ${bytes.length} bytes is not a whole number of ${dec.unitBytes}-byte units`);
  const units = bytes.length / dec.unitBytes;
  const out = new Float32Array(units * dec.unitElements);
  dec.decode(bytes, units, out, 0);
  return out;
}

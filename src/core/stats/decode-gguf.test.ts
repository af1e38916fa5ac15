import { describe, expect, it } from 'vitest';
import { DTYPES, type DType } from '../model/dtype';
import { decodeTensorBytes } from './decode';

/**
 * ggml block quantisations, checked on blocks built by hand with every value worked out on paper from
 * the struct layouts in ggml-common.h and the loops of ggml-quants.c `dequantize_row_*`.
 */
const F16 = { one: 0x3c00, half: 0x3800, quarter: 0x3400, minusOne: 0xbc00 };

function block(dtype: DType, fill: (b: Uint8Array, dv: DataView) => void): Float32Array {
  const b = new Uint8Array(DTYPES[dtype].blockBytes!);
  fill(b, new DataView(b.buffer));
  const y = decodeTensorBytes(dtype, b);
  expect(y.length).toBe(DTYPES[dtype].blockSize);
  return y;
}

describe('ggml block decoders on hand-computed blocks', () => {
  it('q4_0: y = d·(q − 8), low nibbles first', () => {
    const y = block('q4_0', (b, v) => {
      v.setUint16(0, F16.half, true);
      b[2] = 0x9f; // qs[0]
    });
    expect([y[0], y[16], y[15], y[31]]).toEqual([3.5, 0.5, -4, -4]);
  });

  it('q4_1: y = d·q + m', () => {
    const y = block('q4_1', (b, v) => {
      v.setUint16(0, F16.half, true);
      v.setUint16(2, F16.minusOne, true);
      b[4] = 0x9f;
    });
    expect([y[0], y[16], y[1]]).toEqual([6.5, 3.5, -1]);
  });

  it('q5_0: fifth bit from qh, minus 16', () => {
    const y = block('q5_0', (b, v) => {
      v.setUint16(0, F16.one, true);
      v.setUint32(2, 0x00010001, true); // bit 0 → element 0, bit 16 → element 16
      b[6] = 0x21;
    });
    expect([y[0], y[16], y[1], y[17]]).toEqual([1, 2, -16, -16]);
  });

  it('q5_1: unsigned 5-bit, y = d·q + m', () => {
    const y = block('q5_1', (b, v) => {
      v.setUint16(0, F16.one, true);
      v.setUint16(2, F16.half, true);
      v.setUint32(4, 0x80000000, true); // bit 31 → element 31
      b[8 + 15] = 0xf0;
    });
    expect([y[15], y[31], y[0]]).toEqual([0.5, 31.5, 0.5]);
  });

  it('q8_0 and q8_1: signed bytes times d', () => {
    const a = block('q8_0', (b, v) => {
      v.setUint16(0, F16.quarter, true);
      b[2] = 0x80;
      b[3] = 0x7f;
      b[4] = 5;
    });
    expect([a[0], a[1], a[2], a[3]]).toEqual([-32, 31.75, 1.25, 0]);
    const c = block('q8_1', (b, v) => {
      v.setUint16(0, F16.quarter, true);
      v.setUint16(2, 0x7bff, true); // s is a cached sum, ignored by the dequantiser
      b[4] = 0xfc;
    });
    expect(c[0]).toBe(-1);
  });

  it('q2_K: 4-bit scale and min per 16, 2-bit quants in 4 shifts', () => {
    const y = block('q2_k', (b, v) => {
      b.fill(0x21, 0, 16); // scale 1, min 2
      b[1] = 0x03; // sub-block 1: scale 3, min 0
      b[16] = 0xe4; // qs[0] = 0b11_10_01_00
      v.setUint16(80, F16.one, true);
      v.setUint16(82, F16.half, true);
    });
    // d·sc·q − dmin·m: q 0,1,2,3 at shifts 0,2,4,6 (elements 0, 32, 64, 96), m = 2 → −1
    expect([y[0], y[32], y[64], y[96], y[16], y[128]]).toEqual([-1, 0, 1, 2, 0, -1]);
  });

  it('q3_K: 6-bit signed scales unpacked from 12 bytes, high bit from hmask', () => {
    const y = block('q3_k', (b, v) => {
      b[0] = 0x01; // hmask[0] bit 0: element 0 keeps its value (no −4)
      b[32] = 0x03; // qs[0]
      b[96] = 0x21; // scales[0] low nibble 1 → scale 0 = 1 − 32; high nibble 2 → scale 8 = 2 − 32
      v.setUint16(108, F16.half, true);
    });
    expect(y[0]).toBe(0.5 * -31 * 3);
    expect(y[1]).toBe(0.5 * -31 * (0 - 4));
    expect(y[16]).toBe(0.5 * -32 * (0 - 4)); // scale 1 = 0 − 32
    expect(y[128]).toBe(0.5 * -30 * (0 - 4));
  });

  it('q4_K: 6-bit scales and mins (get_scale_min_k4), 32 per sub-block', () => {
    const y = block('q4_k', (b, v) => {
      v.setUint16(0, F16.one, true);
      v.setUint16(2, F16.one, true);
      b[4 + 0] = 0x42; // sc0 = 2; bit 6 feeds sc4's high bits
      b[4 + 1] = 5; // sc1
      b[4 + 4] = 3; // m0
      b[4 + 5] = 1; // m1
      b[4 + 8] = 0x1f; // sc4 low = 15 (| 1<<4 from byte 0) = 31, m4 = 1
      b[16] = 0x7a; // qs[0]
      b[16 + 64] = 0x02; // qs[64]: element 128
    });
    expect([y[0], y[32], y[128]]).toEqual([2 * 10 - 3, 5 * 7 - 1, 31 * 2 - 1]);
  });

  it('q5_K: like q4_K plus a fifth bit from qh', () => {
    const y = block('q5_k', (b, v) => {
      v.setUint16(0, F16.one, true);
      v.setUint16(2, F16.one, true);
      b[4] = 2;
      b[5] = 5;
      b[8] = 3;
      b[9] = 1;
      b[16] = 0x01; // qh[0] bit 0 → element 0 gets +16; bit 1 (element 32) clear
      b[48] = 0x7a;
    });
    expect([y[0], y[32]]).toEqual([2 * (10 + 16) - 3, 5 * 7 - 1]);
  });

  it('q6_K: 4 low bits in ql, 2 high bits in qh, signed 8-bit scales, minus 32', () => {
    const y = block('q6_k', (b, v) => {
      b[0] = 0x21; // ql[0]
      b[128] = 0x07; // qh[0]
      b[192] = 0xfe; // scales[0] = −2
      b[194] = 3; // scales[2]
      b[196] = 1; // scales[4]
      v.setUint16(208, F16.half, true);
    });
    expect([y[0], y[32], y[64]]).toEqual([0.5 * -2 * 17, 0.5 * 3 * -16, 0.5 * 1 * -30]);
  });

  it('q8_K: float32 scale', () => {
    const y = block('q8_k', (b, v) => {
      v.setFloat32(0, 0.125, true);
      b[4] = 0xfd;
    });
    expect(y[0]).toBe(-0.375);
  });

  it('decodes several blocks back to back and rejects a partial block', () => {
    const two = new Uint8Array(36);
    new DataView(two.buffer).setUint16(18, F16.one, true);
    two[20] = 0x88;
    const y = decodeTensorBytes('q4_0', two);
    expect([y[32], y[48]]).toEqual([0, 0]);
    expect(() => decodeTensorBytes('q4_0', two.subarray(0, 20))).toThrow(/q4_0: 20 bytes/);
  });
});

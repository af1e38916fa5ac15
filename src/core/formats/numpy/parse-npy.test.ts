import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sourcesFromPaths } from '../../../../cli/node-source';
import { assertValidReport } from '../../../../tests/helpers/schema';
import { inspect } from '../../inspect';
import { isParseError } from '../../io/errors';
import { parseNpyHeader } from './parse-npy';

const dir = join(__dirname, '../../../../tests/fixtures/pytorch');
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Record<string, { descr: string; shape: number[]; fortranOrder: boolean; dataOffset: number; size: number; object: boolean; first: number | null }>;
const te = new TextEncoder();

function npy(header: string, data = new Uint8Array(0), major = 1): Uint8Array {
  const h = te.encode(header);
  const pre = major === 1 ? 10 : 12;
  const out = new Uint8Array(pre + h.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  new DataView(out.buffer).setUint32(8, h.length, true);
  if (major === 1) new DataView(out.buffer).setUint16(8, h.length, true);
  out.set(h, pre);
  out.set(data, pre + h.length);
  return out;
}

describe('.npy files written by numpy 1.24', () => {
  for (const name of ['float32.npy', 'int64.npy', 'fortran.npy', 'object.npy']) {
    it(`${name}: header, tensor and data offset match numpy`, async () => {
      const e = expected[name];
      const { report, model } = await inspect(await sourcesFromPaths([join(dir, name)]), { skipStream: true });
      assertValidReport(report);
      expect(report.verdict).toBe('clean');
      const bytes = new Uint8Array(readFileSync(join(dir, name)));
      const { header } = parseNpyHeader(bytes.subarray(0, e.dataOffset));
      expect({ descr: header.descr, shape: header.shape, fortran: header.fortranOrder, dataOffset: header.dataOffset, object: header.hasObject }).toEqual({ descr: e.descr, shape: e.shape, fortran: e.fortranOrder, dataOffset: e.dataOffset, object: e.object });
      if (e.object) {
        expect(model!.tensors).toEqual([]);
        expect(report.findings.map((f) => [f.id, f.severity])).toEqual([['npy/object-array', 'info']]);
      } else {
        const t = model!.tensors[0];
        expect(t.offset).toBe(e.dataOffset);
        expect(t.length).toBe(e.size - e.dataOffset);
        const dv = new DataView(bytes.buffer, bytes.byteOffset + t.offset);
        const first = t.dtype === 'float32' ? dv.getFloat32(0, true) : t.dtype === 'float64' ? dv.getFloat64(0, true) : Number(dv.getBigInt64(0, true));
        expect(first).toBe(e.first);
      }
    });
  }

  it('rejects headers numpy rejects, with codes and offsets', () => {
    const fail = (b: Uint8Array) => {
      try {
        parseNpyHeader(b);
      } catch (e) {
        if (isParseError(e)) return [e.code, e.offset];
        throw e;
      }
      return null;
    };
    expect(fail(npy("{'descr': '<f4', 'shape': (2,), }\n"))).toEqual(['bad-header-keys', 10]);
    expect(fail(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }\n"))).toEqual(['bad-shape', 10]);
    expect(fail(npy("{'descr': 'zz', 'fortran_order': False, 'shape': (1,), }\n"))).toEqual(['bad-descr', 10]);
    expect(fail(npy("{'descr': '<f4', 'fortran_order': 1, 'shape': (1,), }\n"))).toEqual(['bad-header', 10]);
    expect(fail(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,) \n"))?.[0]).toBe('bad-header');
    const b = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\n");
    b[6] = 9;
    expect(fail(b)).toEqual(['bad-version', 6]);
  });

  it('reads structured dtypes and finds object fields', () => {
    const { header } = parseNpyHeader(npy("{'descr': [('a', '<f4'), ('b', '<i8', (2,)), ('c', '|O')], 'fortran_order': False, 'shape': (3,), }\n", undefined, 2));
    expect(header.itemsize).toBe(4 + 16 + 8);
    expect(header.hasObject).toBe(true);
    expect(header.fields!.map((f) => f.name)).toEqual(['a', 'b', 'c']);
  });
});

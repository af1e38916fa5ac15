import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemorySource } from '../../io/byte-source';
import { readHdf5 } from './read-hdf5';

const dir = join(__dirname, '..', '..', '..', '..', 'tests', 'fixtures', 'hdf5');
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'))['weights.h5'] as {
  datasets: Record<string, { dtype: string; shape: number[]; offset: number; nbytes: number; chunked: boolean }>;
};
const DT: Record<string, string> = { '<f4': 'float32', '<f2': 'float16', '<i8': 'int64', '|u1': 'uint8', '>f8': 'float64' };

describe('readHdf5 (jsfive) against h5py', () => {
  it('lists every dataset with the dtype, shape and data offset h5py reports', async () => {
    const h = await readHdf5(new MemorySource(new Uint8Array(readFileSync(join(dir, 'weights.h5'))), 'weights.h5'));
    expect(h.problems).toEqual([]);
    expect(h.rootAttrs.note).toBe('fixture');
    expect(h.datasets.map((d) => d.path).sort()).toEqual(Object.keys(expected.datasets).sort());
    for (const d of h.datasets) {
      const e = expected.datasets[d.path];
      expect({ dtype: d.dtype, shape: d.shape, offset: d.offset, length: d.length, layout: d.layout }).toEqual({
        dtype: DT[e.dtype], shape: e.shape, offset: e.offset, length: e.nbytes, layout: e.chunked ? 'chunked' : 'contiguous',
      });
    }
    expect(h.datasets.find((d) => d.path === '/big_endian')!.bigEndian).toBe(true);
  });

  it('rejects a damaged superblock with a typed error', async () => {
    const b = new Uint8Array(readFileSync(join(dir, 'weights.h5')));
    b.fill(0xff, 8, 64);
    await expect(readHdf5(new MemorySource(b, 'bad.h5'))).rejects.toMatchObject({ code: 'unreadable', format: 'hdf5' });
  });
});

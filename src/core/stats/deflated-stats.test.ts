import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inspectPaths } from '../../../tests/helpers/inspect-file';
import type { TensorStats } from './types';

const ROOT = join(__dirname, '../../..');
const stats = async (rel: string) => (await inspectPaths([join(ROOT, rel)])).statistics as TensorStats[];
/** what must not depend on how the bytes were stored */
// spectral metrics and the structure checks read layers in place, which deflated members are not
const comparable = (s: TensorStats) => ({ ...s, file: undefined, spectral: undefined });

describe('statistics of tensors in deflated zip members', () => {
  it('a .keras written with ZIP_DEFLATED gets the statistics the stored one gets, to the bit', async () => {
    const stored = await stats('tests/fixtures/keras/dense.keras');
    const deflated = await stats('tests/fixtures/keras/dense-deflated.keras');
    expect(deflated.map((s) => s.skipped ?? null)).toEqual([null, null, null, null]);
    expect(deflated.map(comparable)).toEqual(stored.map(comparable));
    expect(deflated[0].matrix!.rowNorms).toEqual(stored[0].matrix!.rowNorms);
  });

  it('numpy.savez_compressed members: numbers from the inflated bytes; an unsupported dtype stays skipped', async () => {
    const s = await stats('tests/fixtures/hostile/gen-tensors/numpy/honest-savez-compressed.npz');
    const w = s.find((x) => x.name === 'weight')!;
    // np.arange(12, dtype=float32) as the generator writes it
    expect(w.skipped).toBeUndefined();
    expect(w).toMatchObject({ count: 12, min: 0, max: 11, mean: 5.5, complete: true });
    expect(s.find((x) => x.name === 's')!.skipped).toBe('bytes are deflate-encoded');
  });
});
